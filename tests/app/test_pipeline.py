"""One pass over every stage, with the real replay listener and store and fakes of our own Protocols."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.config import AppConfig
from app.pipeline import Routing, classify_pending, link_pending, poll_once, route_pending
from app.runner import run_once
from app.runtime import Database, Runtime
from hark.brand import OwnAccounts
from listeners.registry import build_listener
from platforms.registry import get_platform
from responders.templates import ReplyTemplates
from store.crm_import import import_customers_csv
from store.db import Sessions
from store.models import CaseRow, ClassificationRow, CustomerRow, IdentityRow, LeadRow, MentionRow, ReplyRow
from store.status import pipeline_status
from tests import builders
from tests.fakes import KeywordClassifier, ListListener, RecordingQueue, RecordingReplier


def make_runtime(
    cfg: AppConfig, sessions: Sessions, queue: RecordingQueue, replier: RecordingReplier
) -> Runtime:
    listeners = tuple(build_listener(s, OwnAccounts.build(cfg.brand)) for s in cfg.sources)
    assert cfg.customers.import_csv is not None
    with sessions.begin() as session:
        import_customers_csv(session, cfg.customers.import_csv)
    bind = sessions.kw["bind"]
    return Runtime(
        config=cfg,
        db=Database(bind, sessions),
        listeners=listeners,
        classifier=KeywordClassifier(),
        routing=Routing(
            cfg=cfg,
            templates=ReplyTemplates(cfg.routing.templates),
            queue=queue,
            own=OwnAccounts.build(cfg.brand),
        ),
        repliers={"x": replier, "reddit": replier},
    )


def counts(sessions: Sessions) -> dict[str, int]:
    with sessions() as session:
        return {
            model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
            for model in (MentionRow, ClassificationRow, CustomerRow, IdentityRow, CaseRow, ReplyRow, LeadRow)
        }


def test_one_pass_stores_classifies_links_and_routes_every_sample_mention(
    app_config: AppConfig, sessions: Sessions
) -> None:
    queue, replier = RecordingQueue(), RecordingReplier()
    result = run_once(make_runtime(app_config, sessions, queue, replier))
    with sessions() as session:
        status = pipeline_status(session, [s.name for s in app_config.sources])
    assert status["mentions"] >= 280  # the sample minus our own accounts' posts
    assert status["mentions"] == status["classified"] == status["linked"] == status["routed"]
    assert result["new_mentions"] == status["mentions"]
    assert queue.cards, "no queue card was posted"
    assert all(card.case_id for card, _ in queue.cards)
    # a conversation gets one card; later mentions in it answer in the card's thread
    threads = [thread for _, thread in queue.cards if thread]
    assert threads
    assert set(threads) <= {f"ts-{i}" for i in range(1, len(queue.cards) + 1)}
    assert all(s["healthy"] and s["items_fetched"] > 0 for s in status["sources"])


def test_a_second_pass_adds_nothing(app_config: AppConfig, sessions: Sessions) -> None:
    queue, replier = RecordingQueue(), RecordingReplier()
    run_once(make_runtime(app_config, sessions, queue, replier))
    before, cards, replies = counts(sessions), len(queue.cards), len(replier.drafts)
    again = run_once(make_runtime(app_config, sessions, queue, replier))
    assert again["new_mentions"] == 0
    assert counts(sessions) == before
    assert (len(queue.cards), len(replier.drafts)) == (cards, replies)


def test_imported_vip_handles_link_to_their_crm_record(app_config: AppConfig, sessions: Sessions) -> None:
    run_once(make_runtime(app_config, sessions, RecordingQueue(), RecordingReplier()))
    with sessions() as session:
        maria = session.scalars(
            sa.select(CustomerRow).where(CustomerRow.external_crm_id == "HS-100234")
        ).one()
        platforms = set(
            session.scalars(sa.select(MentionRow.platform).where(MentionRow.customer_id == maria.id)).all()
        )
        x_identity = session.scalars(
            sa.select(IdentityRow).where(IdentityRow.customer_id == maria.id, IdentityRow.platform == "x")
        ).one()
    assert platforms == {"x", "reddit"}  # the CSV names her handle on both platforms
    assert x_identity.platform_user_id == "733362253190152192"  # the handle was claimed by her real id


def test_noise_and_spam_create_no_customer(app_config: AppConfig, sessions: Sessions) -> None:
    run_once(make_runtime(app_config, sessions, RecordingQueue(), RecordingReplier()))
    with sessions() as session:
        rows = session.execute(
            sa.select(MentionRow.customer_id, MentionRow.route_action)
            .join(ClassificationRow, ClassificationRow.mention_id == MentionRow.id)
            .where(sa.or_(ClassificationRow.relevant.is_(False), ClassificationRow.intent == "spam"))
        ).all()
    assert rows
    assert all(customer is None and action == "ignore" for customer, action in rows)


def test_auto_replies_obey_the_guardrails(app_config: AppConfig, sessions: Sessions) -> None:
    replier = RecordingReplier()
    run_once(make_runtime(app_config, sessions, RecordingQueue(), replier))
    assert replier.drafts, "the sample has praise that should be thanked"
    with sessions() as session:
        targets = session.scalars(
            sa.select(MentionRow).where(MentionRow.external_id.in_([d.in_reply_to for d in replier.drafts]))
        ).all()
    assert all(m.mentions_brand_account for m in targets if m.platform == "x")
    per_thread = [(m.platform, m.conversation_id) for m in targets]
    assert len(per_thread) == len(set(per_thread))
    thanks = app_config.routing.templates["thanks"]
    assert isinstance(thanks, dict)
    # KeywordClassifier labels every post English: each reply is one of the English variants, filled in
    english = {v.replace("{{ handle }}", "").replace("{{ brand }}", "Nimbus Cycles") for v in thanks["en"]}
    shown = {d.reply_id: get_platform(d.platform).display_handle(d.author_handle) for d in replier.drafts}
    assert all(d.text.replace(shown[d.reply_id], "", 1) in english for d in replier.drafts)


def with_replies(cfg: AppConfig, **changes: object) -> AppConfig:
    replies = cfg.responders.replies.model_copy(update=changes)
    return cfg.model_copy(update={"responders": cfg.responders.model_copy(update={"replies": replies})})


def test_kill_switch_keeps_every_reply_in_the_outbox(app_config: AppConfig, sessions: Sessions) -> None:
    replier = RecordingReplier()
    run_once(make_runtime(with_replies(app_config, kill_switch=True), sessions, RecordingQueue(), replier))
    assert replier.drafts == []
    with sessions() as session:
        statuses = set(
            session.scalars(sa.select(ReplyRow.status).where(ReplyRow.approved_by == "auto")).all()
        )
    assert statuses == set()  # the guardrail refused to queue any automated reply at all


def test_a_failing_queue_leaves_mentions_for_the_next_pass(app_config: AppConfig, sessions: Sessions) -> None:
    flaky = RecordingQueue(failures=1)
    runtime = make_runtime(app_config, sessions, flaky, RecordingReplier())
    with pytest.raises(Exception, match="queue unavailable"):
        run_once(runtime, threading.Event())
    with sessions() as session:
        status = pipeline_status(session, [])
    assert status["routed"] < status["linked"]
    run_once(runtime)
    with sessions() as session:
        status = pipeline_status(session, [])
    assert status["routed"] == status["linked"] == status["mentions"]


def test_a_blocked_auto_reply_keeps_its_text_and_rule_and_goes_to_a_person(
    app_config: AppConfig, sessions: Sessions
) -> None:
    own = OwnAccounts.build(app_config.brand)
    posts = [
        builders.mention(1, "@NimbusCycles love it, though I got injured on the first ride", author="ann"),
        builders.mention(2, "@NimbusCycles love it", author="bo"),
    ]
    poll_once(ListListener("src", posts), sessions, own)
    classify_pending(sessions, KeywordClassifier(), 10)
    link_pending(sessions, app_config, 10)
    queue = RecordingQueue()
    routing = Routing(
        cfg=app_config, templates=ReplyTemplates(app_config.routing.templates), queue=queue, own=own
    )
    route_pending(sessions, routing, 10)
    with sessions() as session:
        replies = {r.mention_id: r for r in session.scalars(sa.select(ReplyRow))}
        rows = {r.external_id: r for r in session.scalars(sa.select(MentionRow))}
    blocked, sent = replies[rows["1001"].id], replies[rows["1002"].id]
    assert (blocked.status, blocked.approved_by) == ("blocked", None)
    assert blocked.error == "sensitive: the post says 'injured', a sensitive term"
    assert rows["1001"].route_action == "queue"
    assert rows["1001"].route_rule == "thank praise (blocked: sensitive)"
    assert (sent.status, sent.approved_by) == ("approved", "auto")
    # the person who now owns it sees the post with the reply that was held back
    [(card, _)] = queue.cards
    assert card.mention_id == rows["1001"].id
    assert card.suggested_reply == blocked.text
    assert blocked.text.startswith("Thank you")
    assert "@ann" in blocked.text  # {{ handle }}: the author as X writes a mention
