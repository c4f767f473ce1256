"""The stage functions. Each is one unit of work over the database, the same in every runner."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from classifiers.base import Classifier
from hark.config import AppConfig
from hark.errors import PermanentError, TransientError
from hark.ownership import OwnAccounts
from hark.records import Mention, QueueCard, ReplyDraft
from listeners.base import Listener
from responders.base import QueueResponder, ReplyResponder
from responders.guardrails import reply_block_reason
from responders.routing import Decision, RouteFacts, decide
from responders.templates import ReplyTemplates
from store.cases import mark_first_response, open_case
from store.customers import FORGOTTEN, is_vip, resolve_identity
from store.health import record_success
from store.labels import Labels, effective_labels
from store.leads import products_named, record_buying_signal
from store.link_suggestions import suggest_links
from store.mentions import add_mentions, load_cursor, save_cursor, to_mention
from store.models import CaseRow, ClassificationRow, CustomerRow, MentionRow, ReplyRow
from store.profiles import boosted_priority, customer_segments
from store.replies import queue_reply

log = logging.getLogger(__name__)

Sessions = so.sessionmaker[so.Session]


@dataclass(frozen=True)
class PollResult:
    fetched: int
    new_ids: list[int]
    own_posts: int
    more: bool
    not_before: datetime | None = None  # the source's rate-limit pacing


def poll_once(listener: Listener, sessions: Sessions, own: OwnAccounts) -> PollResult:
    """Fetch from the listener's cursor; mentions, our own responses and the cursor commit together."""
    with sessions() as session:
        cursor = load_cursor(session, listener.name)
    batch = listener.fetch(cursor)  # network call: no transaction held open
    theirs = [m for m in batch.mentions if not own.owns(m)]
    ours = [m for m in batch.mentions if own.owns(m)]
    with sessions.begin() as session:
        new_ids = add_mentions(session, theirs)
        for post in ours:
            record_own_response(session, post)
        save_cursor(session, listener.name, batch.cursor)
        record_success(
            session,
            listener.name,
            len(batch.mentions),
            quota_remaining=batch.quota_remaining,
            quota_reset_at=batch.quota_reset_at,
            next_poll_at=batch.not_before,
        )
    return PollResult(len(batch.mentions), new_ids, len(ours), batch.more, batch.not_before)


def record_own_response(session: so.Session, post: Mention) -> None:
    """A reply our team posted by hand counts as the first response of the case it answers."""
    if post.in_reply_to is None:
        return
    target = session.scalar(
        sa.select(MentionRow).where(
            MentionRow.platform == post.platform, MentionRow.external_id == post.in_reply_to
        )
    )
    if target is None:
        return
    key = f"observed:{post.platform}:{post.external_id}"
    if session.scalar(sa.select(ReplyRow.id).where(ReplyRow.idempotency_key == key)) is None:
        session.add(
            ReplyRow(
                idempotency_key=key,
                case_id=target.case_id,
                mention_id=target.id,
                text=post.text,
                template=None,
                status="sent",
                approved_by=f"posted by @{post.author.handle}",
                platform_post_id=post.external_id,
                created_at=post.created_at,
                updated_at=post.created_at,
                sent_at=post.created_at,
            )
        )
    mark_first_response(session, target.case_id, post.created_at)


def classify_pending(sessions: Sessions, classifier: Classifier, limit: int) -> int:
    """Classify up to `limit` unclassified mentions; return how many were done."""
    with sessions() as session:
        rows = session.scalars(
            sa.select(MentionRow)
            .where(MentionRow.classified_at.is_(None))
            .order_by(MentionRow.id)
            .limit(limit)
        ).all()
        records = [(row.id, to_mention(row)) for row in rows]
    if not records:
        return 0
    labels = classifier.classify([m for _, m in records])  # no transaction open while the model runs
    now = datetime.now(UTC)
    with sessions.begin() as session:
        for (mention_id, _), label in zip(records, labels, strict=True):
            session.add(
                ClassificationRow(
                    mention_id=mention_id,
                    model_version=label.model_version,
                    language=label.language,
                    relevant=label.relevant,
                    sentiment=label.sentiment,
                    sentiment_score=label.sentiment_score,
                    intent=label.intent,
                    intent_scores=dict(label.intent_scores),
                    needs_reply=label.needs_reply,
                    priority=label.priority,
                    created_at=now,
                )
            )
            session.execute(
                sa.update(MentionRow).where(MentionRow.id == mention_id).values(classified_at=now)
            )
    return len(records)


def current_labels(session: so.Session, mention_id: int) -> Labels:
    """The newest model labels with people's corrections applied: corrections win."""
    labels = effective_labels(session, mention_id)
    if labels is None:
        raise LookupError(f"mention {mention_id} is marked classified but has no classification")
    return labels


def _wants_customer(label: Labels) -> bool:
    return label.relevant and label.intent != "spam"


def link_pending(sessions: Sessions, cfg: AppConfig, limit: int) -> int:
    """Link classified mentions to a customer, a case and (for buying signals) a lead."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        rows = session.scalars(
            sa.select(MentionRow)
            .where(MentionRow.classified_at.is_not(None), MentionRow.linked_at.is_(None))
            .order_by(MentionRow.id)
            .limit(limit)
        ).all()
        for row in rows:
            label = current_labels(session, row.id)
            if _wants_customer(label):
                _link_one(session, cfg, row, label)
            row.linked_at = now
        return len(rows)


def _link_one(session: so.Session, cfg: AppConfig, row: MentionRow, label: Labels) -> None:
    if row.author_user_id == FORGOTTEN:  # erased before it was linked: there is nobody to link
        return
    author = to_mention(row).author
    identity = resolve_identity(session, author, bio=row.author_description, profile_url=row.author_url)
    customer = session.get_one(CustomerRow, identity.customer_id)
    row.identity_id, row.customer_id = identity.id, customer.id
    session.flush()  # the segments below count this mention too
    suggest_links(session, identity)
    # segments as of the post's own time, so a replay of old posts ranks them as they were then
    segments = customer_segments(session, customer, cfg.customers, row.created_at)
    vip = "vip" in segments
    if label.needs_reply or label.intent in (
        "complaint",
        "churn_risk",
        "support_question",
        "purchase_intent",
    ):
        minutes = cfg.sla.vip_first_response_minutes if vip else cfg.sla.first_response_minutes
        case = open_case(
            session,
            platform=row.platform,
            conversation_id=row.conversation_id or row.external_id,
            customer_id=customer.id,
            priority=boosted_priority(label.priority, segments, cfg.customers),
            sla=timedelta(minutes=minutes) if label.needs_reply else None,
            at=row.created_at,
        )
        row.case_id = case.id
    if label.intent == "purchase_intent":  # one open lead per customer; a new signal raises its score
        record_buying_signal(
            session,
            customer.id,
            row.id,
            float(label.intent_scores.get("purchase_intent", 0.0)),
            products_named(row.text, cfg.customers.products),
        )


@dataclass(frozen=True)
class Routing:
    """What the route stage needs besides the database."""

    cfg: AppConfig
    templates: ReplyTemplates
    queue: QueueResponder
    own: OwnAccounts


def route_pending(sessions: Sessions, routing: Routing, limit: int) -> int:
    """Decide each linked mention's fate; post queue cards outside the transaction that decided them."""
    cards: list[tuple[int, QueueCard]] = []
    with sessions.begin() as session:
        rows = session.scalars(
            sa.select(MentionRow)
            .where(MentionRow.linked_at.is_not(None), MentionRow.routed_at.is_(None))
            .order_by(MentionRow.id)
            .limit(limit)
        ).all()
        now = datetime.now(UTC)
        for row in rows:
            label = current_labels(session, row.id)
            customer = session.get(CustomerRow, row.customer_id) if row.customer_id else None
            vip = customer is not None and is_vip(
                customer, routing.cfg.customers.vip_tiers, routing.cfg.customers.vip_min_lifetime_value
            )
            decision = decide(
                routing.cfg.routing,
                RouteFacts(
                    intent=label.intent,
                    sentiment=label.sentiment,
                    platform=row.platform,
                    relevant=label.relevant,
                    needs_reply=label.needs_reply,
                    vip=vip,
                    # the case's priority carries the customer's segment boosts
                    priority=session.get_one(CaseRow, row.case_id).priority
                    if row.case_id
                    else label.priority,
                ),
            )
            if decision.action == "auto_reply":
                decision = _auto_reply(session, routing, row, decision, customer)
            row.route_action, row.route_rule = decision.action, decision.rule
            if decision.action in ("queue", "escalate") and row.case_id is not None:
                card = _card(
                    session, routing=routing, row=row, label=label, customer=customer, decision=decision
                )
                cards.append((row.id, card))
            else:
                row.routed_at = now
    for mention_id, card in cards:
        with sessions() as session:  # an earlier card of this batch may have opened the case's thread
            thread = session.get_one(CaseRow, card.case_id).slack_ts
        ref = routing.queue.post_card(card, thread=thread)  # errors leave routed_at NULL: retried next run
        with sessions.begin() as session:
            row = session.get_one(MentionRow, mention_id)
            row.routed_at = datetime.now(UTC)
            case = session.get_one(CaseRow, card.case_id)
            if case.slack_ts is None:
                case.slack_channel, case.slack_ts = card.channel, ref
            case.escalated = case.escalated or card.escalated
    return len(rows)


def _auto_reply(
    session: so.Session, routing: Routing, row: MentionRow, decision: Decision, customer: CustomerRow | None
) -> Decision:
    """Queue the templated reply if the guardrails allow it; otherwise send the mention to a person."""
    mention = to_mention(row)
    reason = reply_block_reason(session, mention, routing.cfg.responders.replies, routing.own)
    if reason is not None:
        log.info("auto_reply_blocked mention=%s reason=%s", row.external_id, reason)
        return Decision("queue", f"{decision.rule} (blocked: {reason})", decision.template, decision.channel)
    assert decision.template is not None  # noqa: S101  # RoutingRule validation requires it
    text = routing.templates.render(
        decision.template,
        author=mention.author.handle,
        customer_name=(customer.name if customer else "") or "",
        brand=routing.cfg.brand.name,
        platform=row.platform,
        intent=current_labels(session, row.id).intent,
    )
    queue_reply(session, row, text, template=decision.template, status="approved", approved_by="auto")
    return decision


def _card(
    session: so.Session,
    *,
    routing: Routing,
    row: MentionRow,
    label: Labels,
    customer: CustomerRow | None,
    decision: Decision,
) -> QueueCard:
    queue_cfg = routing.cfg.responders.queue
    escalated = decision.action == "escalate"
    history = 0
    if row.customer_id is not None:
        history = (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(MentionRow)
                .where(MentionRow.customer_id == row.customer_id, MentionRow.id < row.id)
            )
            or 0
        )
    suggestion = None
    if decision.template:
        suggestion = routing.templates.render(
            decision.template,
            author=row.author_handle,
            customer_name=(customer.name if customer else "") or "",
            brand=routing.cfg.brand.name,
            platform=row.platform,
            intent=label.intent,
        )
    assert row.case_id is not None  # noqa: S101  # callers route only mentions with a case here
    case = session.get_one(CaseRow, row.case_id)
    return QueueCard(
        case_id=row.case_id,
        mention_id=row.id,
        platform="x" if row.platform == "x" else "reddit",
        author_handle=row.author_handle,
        author_followers=row.author_followers,
        customer_name=customer.name if customer and customer.external_crm_id else None,
        customer_tier=customer.tier if customer else None,
        text=row.text,
        url=row.url,
        sentiment=label.sentiment,  # type: ignore[arg-type]  # written from a Sentiment
        intent=label.intent,  # type: ignore[arg-type]  # written from an Intent
        priority=case.priority,
        channel=decision.channel or (queue_cfg.escalation_channel if escalated else queue_cfg.channel),
        escalated=escalated,
        history_count=history,
        suggested_reply=suggestion,
    )


def deliver_pending(
    sessions: Sessions, repliers: Mapping[str, ReplyResponder], kill_switch: bool, limit: int
) -> int:
    """Send approved replies: committed as `sending` before the call, `sent` after it."""
    if kill_switch:
        return 0
    sent = 0
    with sessions() as session:
        ids = session.scalars(
            sa.select(ReplyRow.id).where(ReplyRow.status == "approved").order_by(ReplyRow.id).limit(limit)
        ).all()
    for reply_id in ids:
        with sessions.begin() as session:
            reply = session.get_one(ReplyRow, reply_id)
            if reply.status != "approved":  # someone else took it
                continue
            mention = session.get_one(MentionRow, reply.mention_id)
            reply.status, reply.updated_at = "sending", datetime.now(UTC)
            draft = ReplyDraft(
                reply_id=reply.id,
                platform="x" if mention.platform == "x" else "reddit",
                in_reply_to=mention.external_id,
                author_handle=mention.author_handle,
                text=reply.text,
                idempotency_key=reply.idempotency_key,
            )
        replier = repliers.get(draft.platform)
        if replier is None:
            _set_reply(sessions, reply_id, "failed", f"no reply responder for {draft.platform} is configured")
            continue
        try:
            post_id = replier.deliver(draft)
        except TransientError:
            _set_reply(sessions, reply_id, "approved", None)
            raise
        except PermanentError as err:
            _set_reply(sessions, reply_id, "failed", str(err))
            log.error("reply_failed reply=%d error=%s", reply_id, err)
            continue
        with sessions.begin() as session:
            reply = session.get_one(ReplyRow, reply_id)
            now = datetime.now(UTC)
            reply.status, reply.platform_post_id, reply.sent_at, reply.updated_at = "sent", post_id, now, now
            mark_first_response(session, reply.case_id, now)
        sent += 1
    return sent


def _set_reply(sessions: Sessions, reply_id: int, status: str, error: str | None) -> None:
    with sessions.begin() as session:
        reply = session.get_one(ReplyRow, reply_id)
        reply.status, reply.error, reply.updated_at = status, error, datetime.now(UTC)


def fail_interrupted_replies(sessions: Sessions) -> Sequence[int]:
    """Replies left `sending` by a crash may or may not be posted: a person checks, Hark never resends."""
    with sessions.begin() as session:
        rows = session.scalars(sa.select(ReplyRow).where(ReplyRow.status == "sending")).all()
        for reply in rows:
            reply.status = "failed"
            reply.error = "interrupted while sending: check the platform before sending again"
            reply.updated_at = datetime.now(UTC)
            log.error("reply_interrupted reply=%d key=%s", reply.id, reply.idempotency_key)
        return [r.id for r in rows]
