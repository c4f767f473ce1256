"""`hark replies`: people review, approve, edit, cancel, pause and resume the outbox, and ask why a post
got no automated reply. In-process CLI against a real database; delivery through the real deliver stage."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from app.config import AppConfig
from app.delivery import deliver_pending
from app.pipeline import Routing, classify_pending, link_pending, poll_once, route_pending
from hark.brand import OwnAccounts
from main import cli
from responders.templates import ReplyTemplates
from store.db import Sessions
from store.models import MentionRow, ReplyRow
from tests.builders import mention
from tests.conftest import REPO
from tests.fakes import KeywordClassifier, ListListener, RecordingQueue, RecordingReplier

POSTS = [
    mention(1, "@NimbusCycles love it", author="ann"),  # allowed: summoned, confident praise
    mention(2, "@NimbusCycles love it, though I was injured on day one", author="bo"),  # sensitive
    mention(3, "nimbus bikes, love them", author="cy", addressed=False),  # X: did not summon us
    mention(4, "@NimbusCycles love my new Halo", author="maria_rides"),  # a VIP in the sample CRM
    mention(5, "@NimbusCycles my Halo arrived broken", author="dee"),  # a complaint
]


@pytest.fixture
def hark(db_url: str, sessions: Sessions, app_config: AppConfig) -> Any:
    runner = CliRunner(env={"HARK_DATABASE_URL": db_url, "HARK_CONFIG": str(REPO / "config.yaml")})

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args))

    assert invoke("customers", "import", str(REPO / "samples" / "customers.csv")).exit_code == 0
    own = OwnAccounts.build(app_config.brand)
    poll_once(ListListener("src", POSTS), sessions, own)
    classify_pending(sessions, KeywordClassifier(), 10)
    link_pending(sessions, app_config, 10)
    routing = Routing(
        cfg=app_config,
        templates=ReplyTemplates(app_config.routing.templates),
        queue=RecordingQueue(),
        own=own,
    )
    route_pending(sessions, routing, 10)
    return invoke


def ids(sessions: Sessions) -> dict[str, int]:
    with sessions() as session:
        return {m.author_handle: m.id for m in session.scalars(sa.select(MentionRow))}


def replies(sessions: Sessions) -> dict[int, ReplyRow]:
    with sessions() as session:
        return {r.mention_id: r for r in session.scalars(sa.select(ReplyRow))}


@pytest.mark.parametrize(
    ("author", "blocked_by"),
    [("ann", None), ("bo", "sensitive"), ("cy", "summoned"), ("maria_rides", "vip"), ("dee", "intent")],
)
def test_explain_names_the_rule_that_blocks_each_post(
    hark: Any, sessions: Sessions, author: str, blocked_by: str | None
) -> None:
    result = hark("replies", "explain", str(ids(sessions)[author]), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["blocked_by"] == blocked_by
    assert document["allowed"] is (blocked_by is None)
    assert len(document["checks"]) == 16
    text = hark("replies", "explain", str(ids(sessions)[author])).stdout
    assert ("auto-reply: allowed" if blocked_by is None else f"auto-reply: blocked by {blocked_by}") in text


def test_blocked_replies_wait_for_a_person_who_can_send_them_once(hark: Any, sessions: Sessions) -> None:
    listed = json.loads(hark("replies", "list", "--status", "blocked", "--json").stdout)
    assert {r["author"]: r["error"].split(":")[0] for r in listed} == {
        "@bo": "sensitive",
        "@cy": "summoned",
        "@maria_rides": "vip",
    }
    bo = replies(sessions)[ids(sessions)["bo"]]
    approved = hark("replies", "approve", str(bo.id), "--by", "ana", "--json")
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["approved_by"] == "ana"
    replier = RecordingReplier()
    assert deliver_pending(sessions, {"x": replier}, False, 10) == 2  # ann's auto-reply and bo's approved one
    assert deliver_pending(sessions, {"x": replier}, False, 10) == 0
    assert sorted(d.author_handle for d in replier.drafts) == ["ann", "bo"]
    again = hark("replies", "approve", str(bo.id), "--by", "ana")
    assert again.exit_code == 1
    assert "is sent: only a draft/blocked/failed reply can be approved" in again.output


def test_edit_checks_the_platforms_limit_and_cancel_is_final(hark: Any, sessions: Sessions) -> None:
    cy = replies(sessions)[ids(sessions)["cy"]]
    too_long = hark("replies", "edit", str(cy.id), "--text", "日" * 141)
    assert too_long.exit_code == 1
    assert "the text is 282 of X's 280" in too_long.output
    edited = json.loads(hark("replies", "edit", str(cy.id), "--text", "Thanks, @cy!", "--json").stdout)
    assert (edited["text"], edited["status"]) == ("Thanks, @cy!", "blocked")
    assert hark("replies", "cancel", str(cy.id)).exit_code == 0
    assert hark("replies", "approve", str(cy.id), "--by", "ana").exit_code == 1
    assert json.loads(hark("replies", "show", str(cy.id), "--json").stdout)["status"] == "cancelled"


def test_a_reply_the_platform_would_refuse_cannot_be_approved(hark: Any, sessions: Sessions) -> None:
    cy = replies(sessions)[ids(sessions)["cy"]]  # cy's post names us without @mentioning us
    refused = hark("replies", "approve", str(cy.id), "--by", "ana")
    assert refused.exit_code == 1
    assert "X takes replies from our account only to posts that @mention or quote it" in refused.output
    assert replies(sessions)[ids(sessions)["cy"]].status == "blocked"


def test_pause_holds_every_reply_and_resume_sends_what_waited_once(hark: Any, sessions: Sessions) -> None:
    paused = hark("replies", "pause", "--reason", "storm on X", "--json")
    assert json.loads(paused.stdout)["reason"] == "storm on X"
    status = json.loads(hark("status", "--json").stdout)
    assert status["replies_paused"]["reason"] == "storm on X"
    replier = RecordingReplier()
    assert deliver_pending(sessions, {"x": replier}, False, 10) == 0
    assert replies(sessions)[ids(sessions)["ann"]].status == "approved"  # waiting, not dropped
    assert json.loads(hark("replies", "resume", "--json").stdout) == {"paused": False, "was_paused": True}
    assert deliver_pending(sessions, {"x": replier}, False, 10) == 1
    assert deliver_pending(sessions, {"x": replier}, False, 10) == 0
    assert [d.author_handle for d in replier.drafts] == ["ann"]
    assert json.loads(hark("status", "--json").stdout)["replies_paused"] is None


def test_unknown_replies_and_mentions_are_one_line_errors(hark: Any) -> None:
    assert hark("replies", "show", "999").exit_code == 1
    missing = hark("replies", "explain", "x:404")
    assert missing.exit_code == 2
    assert "no mention x:404" in missing.output
    assert hark("replies", "list", "--status", "lost").exit_code == 1


def test_send_approves_and_posts_one_reply_now_and_says_why_when_it_cannot(
    hark: Any, sessions: Sessions
) -> None:
    bo = replies(sessions)[ids(sessions)["bo"]]
    assert hark("replies", "pause").exit_code == 0
    held = hark("replies", "send", str(bo.id), "--by", "ana")
    assert held.exit_code == 1
    assert "is approved: replies are paused by" in held.output
    assert hark("replies", "resume").exit_code == 0
    sent = hark("replies", "send", str(bo.id), "--by", "ana", "--json")
    assert sent.exit_code == 0, sent.output
    document = json.loads(sent.stdout[sent.stdout.index("{") :])  # the dry-run console prints the reply first
    assert (document["status"], document["approved_by"]) == ("sent", "ana")
    assert document["platform_post_id"].startswith("dry-run:")
    ann = replies(sessions)[ids(sessions)["ann"]]
    assert ann.status == "approved"  # only the one named was sent
