"""The card workflow: a mention routed to a real card on a fake Slack (the real WebClient), then signed clicks
through the real bolt app, over HTTP where it matters, and replies delivered to the fake X through tweepy."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from app.config import AppConfig
from app.delivery import deliver_pending
from app.pipeline import Routing, classify_pending, link_pending, poll_once, refresh_cards, route_pending
from hark.brand import OwnAccounts
from responders.config import QueueConfig
from responders.slack import SlackQueueResponder
from responders.slack_app import SlackAppServer, build_slack_app
from responders.templates import ReplyTemplates
from responders.x import XReplyResponder
from store.case_notes import notes_of_case
from store.db import Sessions
from store.models import AuditLogRow, CaseRow, MentionRow, ReplyRow
from store.privacy import forget_customer
from store.switches import replies_paused
from tests.builders import mention
from tests.conftest import SHARED
from tests.fake_platforms import BRAND_HANDLE, BRAND_ID, FakeX
from tests.fakes import KeywordClassifier, ListListener
from tests.slack_peer import SIGNING_SECRET, FakeSlack, signed_headers

SECRET = SIGNING_SECRET
QUEUE = QueueConfig(
    type="slack", senders=("U0ANA", "S0SENDERS"), pausers=("U0BEA",), on_call_group="S0ONCALL"
)


def config(fake_x: FakeX) -> AppConfig:
    return AppConfig.model_validate(
        {
            "brand": {
                "name": "Nimbus Cycles",
                "accounts": {"x": {BRAND_HANDLE: BRAND_ID}},
                "terms": ["nimbus"],
            },
            "sources": [
                {
                    "type": "x",
                    "name": "x-mentions",
                    "mode": "mentions",
                    "user_id": BRAND_ID,
                    "api_base_url": fake_x.url,
                }
            ],
            "routing": {
                "default_action": "queue",
                "templates": {"sorry": "Sorry about that, {{ handle }}! We are on it."},
                "suggestions": {"complaint": "sorry"},
            },
            "responders": {"queue": QUEUE.model_dump()},
        }
    )


@pytest.fixture
def slack(httpserver: HTTPServer) -> FakeSlack:
    return FakeSlack(httpserver, groups={"S0SENDERS": ["U0BEA"], "S0ONCALL": ["U0ONC"]})


def route(
    sessions: Sessions,
    slack: FakeSlack,
    fake_x: FakeX,
    *posts: tuple[int, str, bool],
    raw: dict[str, object] | None = None,
) -> None:
    """Each (n, text, summons us) post through poll, classify, link and route: cards on the fake Slack."""
    cfg = config(fake_x)
    own = OwnAccounts.build(cfg.brand)
    mentions = [
        mention(n, text, author=f"rider{n}", user_id=f"{7000 + n}", addressed=summons, raw=raw)
        for n, text, summons in posts
    ]
    poll_once(ListListener("src", mentions), sessions, own)
    classify_pending(sessions, KeywordClassifier(), 10)
    link_pending(sessions, cfg, 10)
    queue = SlackQueueResponder.on_client(WebClient(token="xoxb-test", base_url=slack.url), QUEUE)
    route_pending(
        sessions, Routing(cfg=cfg, templates=ReplyTemplates(cfg.routing.templates), queue=queue, own=own), 10
    )


def cards(slack: FakeSlack) -> list[dict[str, Any]]:
    """The cards posted (top-level messages with a workflow block), with the ts the fake gave each."""
    out = []
    for number, (method, args) in enumerate(slack.calls):
        if method == "chat.postMessage" and any(
            b.get("block_id", "").startswith("case:") for b in args.get("blocks") or []
        ):
            out.append({**args, "ts": f"1763000000.{number + 1:06d}"})
    return out


@pytest.fixture
def card(sessions: Sessions, slack: FakeSlack, fake_x: FakeX) -> dict[str, Any]:
    """The card of one complaint that @mentions us, as posted to the fake Slack."""
    route(sessions, slack, fake_x, (1, f"@{BRAND_HANDLE} my order is late", True))
    [posted] = cards(slack)
    return posted


@pytest.fixture
def app(slack: FakeSlack, sessions: Sessions) -> App:
    client = WebClient(token="xoxb-test", base_url=slack.url)
    return build_slack_app(client, sessions, signing_secret=SECRET, queue=QUEUE, process_before_response=True)


def payload(
    card: dict[str, Any], action_id: str, user: str, *, value: str | None = None, action_ts: str | None = None
) -> dict[str, Any]:
    recorded = SHARED / "fixtures" / "slack" / "app-backend" / "BlockActionPayload.json"
    body: dict[str, Any] = json.loads(recorded.read_text(encoding="utf-8"))
    [workflow] = [b for b in card["blocks"] if b.get("block_id", "").startswith("case:")]
    element = next((e for e in workflow["elements"] if e["action_id"] == action_id), None)
    chosen = value if value is not None else (element or {}).get("value", workflow["block_id"].split(":")[1])
    action: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "block_id": workflow["block_id"],
        "value": chosen,
        "action_ts": action_ts or f"{time.time():.6f}",
    }
    if action_id == "snooze_case":
        action = {
            **action,
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": chosen},
        }
    body.update(
        team={"id": "T0001", "domain": "nimbus"},
        user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0001"},
        api_app_id="A0001",
        container={
            "type": "message",
            "message_ts": card["ts"],
            "channel_id": "C0QUEUE",
            "is_ephemeral": False,
        },
        channel={"id": "C0QUEUE", "name": "hark-queue"},
        message={"type": "message", "ts": card["ts"], "text": "card", "blocks": card["blocks"]},
        response_url="https://hooks.slack.invalid/actions/T0001/1/abc",
        actions=[action],
    )
    return body


def signed_body(body: dict[str, Any], secret: str = SECRET, *, age_s: int = 0) -> tuple[str, dict[str, str]]:
    encoded = urlencode({"payload": json.dumps(body)})
    return encoded, signed_headers(encoded, secret=secret, age_s=age_s)


def click(app: App, body: dict[str, Any], **signing: Any) -> int:
    encoded, headers = signed_body(body, **signing)
    return app.dispatch(BoltRequest(body=encoded, headers={**headers})).status


def replies(sessions: Sessions) -> list[ReplyRow]:
    with sessions() as session:
        return list(session.scalars(sa.select(ReplyRow).order_by(ReplyRow.id)))


def replier(fake_x: FakeX) -> XReplyResponder:
    return XReplyResponder.from_credentials(
        fake_x.url,
        consumer_key=fake_x.posting_key,
        consumer_secret="s",
        access_token="t",
        access_token_secret="ts",
    )


def told(slack: FakeSlack, user: str) -> list[str]:
    return [str(args["text"]) for args in slack.of("chat.postEphemeral") if args.get("user") == user]


def history(slack: FakeSlack) -> list[str]:
    """The history lines in card threads (rich text, as their notification fallback says them)."""
    return [
        str(args["text"])
        for args in slack.of("chat.postMessage")
        if args.get("thread_ts") and args.get("mrkdwn") in (False, "false", "0")
    ]


def test_approve_sends_exactly_one_reply_through_replays_double_clicks_and_two_people_at_once(
    app: App, slack: FakeSlack, sessions: Sessions, fake_x: FakeX, card: dict[str, Any]
) -> None:
    first = payload(card, "approve_reply", "U0ANA")
    for _ in range(3):  # one request delivered three times (Slack's retries, a replay)
        assert click(app, first) == 200
    assert click(app, payload(card, "approve_reply", "U0ANA")) == 200  # a double click: a second request

    server = SlackAppServer(app, app_token=None, host="127.0.0.1", port=0)
    server.start()
    try:
        statuses: list[int] = []

        def over_http(user: str) -> None:  # two people at the same moment, through the real HTTP server
            encoded, headers = signed_body(payload(card, "approve_reply", user))
            request = urllib.request.Request(
                f"http://127.0.0.1:{server.port}/slack/events", data=encoded.encode(), headers=headers
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # a local URL
                statuses.append(response.status)

        people = [threading.Thread(target=over_http, args=(user,)) for user in ("U0ANA", "U0BEA")]
        for person in people:
            person.start()
        for person in people:
            person.join()
    finally:
        server.stop()
    assert statuses == [200, 200]
    [reply] = replies(sessions)
    assert (reply.status, reply.approved_by, reply.text) == (
        "approved",
        "slack:U0ANA",
        "Sorry about that, @rider1! We are on it.",
    )
    assert deliver_pending(sessions, {"x": replier(fake_x)}, False, 10) == 1
    assert deliver_pending(sessions, {"x": replier(fake_x)}, False, 10) == 0
    assert [p["text"] for p in fake_x.posted] == ["Sorry about that, @rider1! We are on it."]
    assert history(slack) == ["@U0ANA approved the reply: Sorry about that, @rider1! We are on it."]  # once
    assert all("approved the reply already" in text for text in told(slack, "U0BEA"))


def test_an_unauthorised_approver_is_refused_and_nothing_is_queued(
    app: App, slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    assert click(app, payload(card, "approve_reply", "U0EVE")) == 200
    assert replies(sessions) == []
    [refusal] = told(slack, "U0EVE")
    assert "may not send replies" in refusal
    assert history(slack) == []
    assert slack.of("chat.update") == []


def test_a_member_of_a_sender_group_may_approve(
    app: App, slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    assert click(app, payload(card, "approve_reply", "U0BEA")) == 200  # U0BEA is in S0SENDERS
    [reply] = replies(sessions)
    assert (reply.status, reply.approved_by) == ("approved", "slack:U0BEA")
    assert slack.of("usergroups.users.list")[0]["usergroup"] == "S0SENDERS"


@pytest.mark.parametrize("signing", [{"secret": "not-the-secret"}, {"age_s": 301}])
def test_forged_and_stale_signatures_get_401_and_change_nothing(
    app: App,
    slack: FakeSlack,
    sessions: Sessions,
    card: dict[str, Any],
    signing: dict[str, Any],
) -> None:
    for action in ("approve_reply", "claim_case", "resolve_case", "escalate_case"):
        assert click(app, payload(card, action, "U0ANA"), **signing) == 401
    assert replies(sessions) == []
    with sessions() as session:
        case = session.scalars(sa.select(CaseRow)).one()
        assert (case.status, case.assignee, case.escalated) == ("new", None, False)
    assert history(slack) == told(slack, "U0ANA") == []


def test_claim_shows_the_owner_and_a_second_claim_is_refused_with_who_holds_it(
    app: App, slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    assert click(app, payload(card, "claim_case", "U0ANA")) == 200
    assert click(app, payload(card, "claim_case", "U0BEA")) == 200
    assert click(app, payload(card, "unclaim_case", "U0BEA")) == 200
    with sessions() as session:
        case = session.scalars(sa.select(CaseRow)).one()
        actions = [
            a.action
            for a in session.scalars(sa.select(AuditLogRow).where(AuditLogRow.subject == f"case:{case.id}"))
        ]
    assert (case.status, case.assignee) == ("claimed", "slack:U0ANA")
    assert actions == ["case_claimed"]
    assert told(slack, "U0BEA") == [
        "<@U0ANA> holds this case.",
        "<@U0ANA> holds this case: only they can give it back.",
    ]
    assert history(slack) == ["@U0ANA claimed the case"]
    [update] = slack.of("chat.update")
    assert (update["channel"], update["ts"]) == ("C0QUEUE", card["ts"])
    shown = json.dumps(update["blocks"], ensure_ascii=False)
    assert "*Claimed* · held by <@U0ANA>" in shown
    buttons = [
        e["action_id"]
        for b in update["blocks"]
        if b.get("block_id", "").startswith("case:")
        for e in b["elements"]
    ]
    assert "unclaim_case" in buttons
    assert "claim_case" not in buttons


def test_resolve_and_reopen_each_change_the_case_once(
    app: App, slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    assert click(app, payload(card, "resolve_case", "U0ANA")) == 200
    assert (
        click(app, payload(card, "resolve_case", "U0BEA")) == 200
    )  # already resolved: told, nothing changes
    with sessions() as session:
        resolved = session.scalars(sa.select(CaseRow)).one()
    assert resolved.status == "resolved"
    assert resolved.resolved_at is not None
    assert click(app, payload(card, "reopen_case", "U0BEA")) == 200
    with sessions() as session:
        reopened = session.scalars(sa.select(CaseRow)).one()
    assert (reopened.status, reopened.resolved_at) == ("new", None)
    assert history(slack) == ["@U0ANA resolved the case", "@U0BEA reopened the case"]
    assert told(slack, "U0BEA") == ["The case is resolved already."]
    assert len(slack.of("chat.update")) == 2


def test_escalate_moves_the_card_to_the_escalation_channel_and_calls_on_call(
    app: App, slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    assert click(app, payload(card, "escalate_case", "U0BEA")) == 200
    assert click(app, payload(card, "escalate_case", "U0ANA")) == 200  # once is enough
    posted = [
        args for args in slack.of("chat.postMessage") if args["channel"] in ("#hark-escalations", "C0ESCAL")
    ]
    card_there, alert = posted
    assert card_there["blocks"][0]["text"]["text"].startswith("ESCALATED · case #")
    assert alert["text"].startswith("<!subteam^S0ONCALL> case #")
    assert alert["text"].endswith("was escalated: its card is above.")
    assert history(slack) == ["@U0BEA escalated the case"]
    assert alert["thread_ts"]
    updates = slack.of("chat.update")
    assert {u["channel"] for u in updates} == {"C0QUEUE"}  # the queue card says it was escalated
    assert "escalate_case" not in json.dumps(updates[-1]["blocks"])
    assert told(slack, "U0ANA") == ["The case is escalated already."]


def test_snooze_sets_the_time_on_the_case_and_the_card(
    app: App, slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    mention_id = card["blocks"][-2]["block_id"].split(":")[1]
    before = time.time()
    assert click(app, payload(card, "snooze_case", "U0ANA", value=f"{mention_id}:240")) == 200
    assert click(app, payload(card, "snooze_case", "U0ANA", value=f"{mention_id}:-5")) == 200
    with sessions() as session:
        case = session.scalars(sa.select(CaseRow)).one()
    assert case.snoozed_until is not None
    assert 4 * 3600 - 5 <= case.snoozed_until.timestamp() - before <= 4 * 3600 + 5
    [line] = history(slack)
    assert line.startswith("@U0ANA snoozed the case until ")
    assert "snoozed until <!date^" in json.dumps(slack.of("chat.update")[0]["blocks"])
    [refusal] = told(slack, "U0ANA")
    assert "a snooze is 1 minute to 30 days" in refusal


def test_snooze_until_a_picked_time(
    app: App, slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    until = int(time.time()) + 3 * 86400
    body = payload(card, "snooze_until", "U0ANA")
    body["actions"][0] |= {"type": "datetimepicker", "selected_date_time": until}
    assert click(app, body) == 200
    with sessions() as session:
        case = session.scalars(sa.select(CaseRow)).one()
    assert case.snoozed_until is not None
    assert int(case.snoozed_until.timestamp()) == until
    body = payload(card, "snooze_until", "U0ANA")
    body["actions"][0] |= {"type": "datetimepicker", "selected_date_time": until + 40 * 86400}
    assert click(app, body) == 200
    assert told(slack, "U0ANA") == ["Hark could not snooze the case: a snooze is 1 minute to 30 days"]


def test_where_x_takes_no_reply_from_us_the_card_offers_reply_on_x_instead(
    app: App, slack: FakeSlack, sessions: Sessions, fake_x: FakeX
) -> None:
    route(sessions, slack, fake_x, (1, "my nimbus order is late", False))  # names us, does not @mention us
    [card] = cards(slack)
    [workflow] = [b for b in card["blocks"] if b.get("block_id", "").startswith("case:")]
    first = workflow["elements"][0]
    assert (first["action_id"], first["text"]["text"], first["url"]) == (
        "open_post",
        "Reply on X",
        "https://example.com/1001",
    )
    assert "approve_reply" not in json.dumps(card["blocks"])
    assert "takes replies from our account only to posts that @mention or quote it" in json.dumps(
        card["blocks"]
    )
    forged_value = payload(card, "approve_reply", "U0ANA", value=workflow["block_id"].split(":")[1])
    assert click(app, forged_value) == 200  # a crafted click on an Approve the card never showed
    assert replies(sessions) == []
    assert any("takes replies from our account only" in text for text in told(slack, "U0ANA"))


def test_a_thread_its_author_closed_to_us_gets_reply_on_x_too(
    app: App, slack: FakeSlack, sessions: Sessions, fake_x: FakeX
) -> None:
    route(
        sessions,
        slack,
        fake_x,
        (1, f"@{BRAND_HANDLE} my order is late", True),
        raw={"reply_settings": "following"},
    )
    [card] = cards(slack)
    shown = json.dumps(card["blocks"])
    assert '"action_id": "open_post"' in shown
    assert "approve_reply" not in shown
    assert "lets only the accounts its author follows reply" in shown
    assert click(app, payload(card, "approve_reply", "U0ANA", value="1")) == 200
    assert replies(sessions) == []


def test_a_sent_reply_updates_the_card_with_its_link(
    app: App, slack: FakeSlack, sessions: Sessions, fake_x: FakeX, card: dict[str, Any]
) -> None:
    assert click(app, payload(card, "approve_reply", "U0ANA")) == 200
    deliver_pending(sessions, {"x": replier(fake_x)}, False, 10)

    queue = SlackQueueResponder.on_client(WebClient(token="xoxb-test", base_url=slack.url), QUEUE)
    assert refresh_cards(sessions, queue, 10) == 1
    assert refresh_cards(sessions, queue, 10) == 0
    last = slack.of("chat.update")[-1]
    shown = json.dumps(last["blocks"])
    [post] = fake_x.posted
    assert f"https://x.com/i/web/status/{post['id']}" in shown
    assert '"text": "Replied"' in shown
    assert "approve_reply" not in shown
    with sessions() as session:
        assert session.scalars(sa.select(MentionRow)).one().case_id is not None


def message_event(
    channel: str,
    thread_ts: str,
    text: str,
    *,
    user: str = "U0ANA",
    ts: str = "1763000500.000100",
    **extra: Any,
) -> dict[str, Any]:
    """An Events API envelope of a message in a channel (message.channels), as Slack sends it."""
    return {
        "token": "unused-verification-token",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": f"Ev{ts.replace('.', '')}",
        "event_time": int(float(ts)),
        "event": {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
            "channel_type": "channel",
            "event_ts": ts,
            **extra,
        },
    }


def send_event(app: App, envelope: dict[str, Any], **headers: str) -> int:
    body = json.dumps(envelope)
    signed = {**signed_headers(body, content_type="application/json"), **headers}
    return app.dispatch(BoltRequest(body=body, headers={**signed})).status


def test_a_message_in_a_cards_thread_is_kept_as_a_note_and_never_sent(
    app: App, slack: FakeSlack, sessions: Sessions, fake_x: FakeX, card: dict[str, Any]
) -> None:
    typed = "<!channel> @rider1 called us, refund *issued*: do not reply publicly"
    envelope = message_event("C0QUEUE", card["ts"], typed)
    assert send_event(app, envelope) == 200
    assert (
        send_event(app, envelope, **{"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}) == 200
    )
    assert (
        send_event(app, message_event("C0QUEUE", "1763009999.000001", "elsewhere", ts="1763000600.000100"))
        == 200
    )
    assert (
        send_event(
            app, message_event("C0QUEUE", card["ts"], "bot says", ts="1763000700.000100", bot_id="B0HARK")
        )
        == 200
    )
    assert (
        send_event(
            app,
            message_event("C0QUEUE", card["ts"], "edited", ts="1763000800.000100", subtype="message_changed"),
        )
        == 200
    )
    with sessions() as session:
        case = session.scalars(sa.select(CaseRow)).one()
        notes = notes_of_case(session, case.id)
    assert [(n.author, n.text) for n in notes] == [("slack:U0ANA", typed)]  # once, verbatim
    assert replies(sessions) == []
    deliver_pending(sessions, {"x": replier(fake_x)}, False, 10)
    assert fake_x.posted == []
    assert told(slack, "U0ANA") == []


def test_a_forgotten_persons_card_loses_their_words_at_the_next_refresh(
    slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    assert "my order is late" in json.dumps(card["blocks"])
    with sessions.begin() as session:
        customer_id = session.scalars(sa.select(MentionRow.customer_id)).one()
        assert customer_id is not None
        forget_customer(session, customer_id, actor="dpo")
    queue = SlackQueueResponder.on_client(WebClient(token="xoxb-test", base_url=slack.url), QUEUE)

    assert refresh_cards(sessions, queue, 10) == 1
    [update] = slack.of("chat.update")
    assert update["ts"] == card["ts"]
    shown = json.dumps(update["blocks"])
    assert "my order is late" not in shown
    assert "rider1" not in shown


def opened_view(slack: FakeSlack) -> dict[str, Any]:
    [opened] = slack.of("views.open")
    assert opened["trigger_id"] == "13345224609.738474920.8088930838d88f008e0"
    view: dict[str, Any] = opened["view"]
    return view


def submission(view: dict[str, Any], text: str, user: str) -> dict[str, Any]:
    recorded = SHARED / "fixtures" / "slack" / "app-backend" / "ViewSubmissionPayload.json"
    body: dict[str, Any] = json.loads(recorded.read_text(encoding="utf-8"))
    body.update(
        team={"id": "T0001", "domain": "nimbus"},
        user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0001"},
        api_app_id="A0001",
        trigger_id="13345224609.738474920.0000000000000000000",
    )
    body["view"] = {
        **body["view"],
        **{
            k: view[k]
            for k in ("type", "callback_id", "private_metadata", "title", "submit", "close", "blocks")
        },
        "id": "V0REPLY1",
        "hash": "1763000000.abc",
        "state": {"values": {"reply": {"reply_text": {"type": "plain_text_input", "value": text}}}},
    }
    return body


def submit(app: App, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    encoded, headers = signed_body(body)
    response = app.dispatch(BoltRequest(body=encoded, headers={**headers}))
    return response.status, json.loads(response.body) if response.body else {}


def with_trigger(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "trigger_id": "13345224609.738474920.8088930838d88f008e0"}


def test_edit_then_send_posts_the_edited_text_once(
    app: App, slack: FakeSlack, sessions: Sessions, fake_x: FakeX, card: dict[str, Any]
) -> None:
    assert click(app, with_trigger(payload(card, "edit_reply", "U0ANA"))) == 200
    view = opened_view(slack)
    [typed] = [b for b in view["blocks"] if b["type"] == "input"]
    assert typed["element"]["initial_value"] == "Sorry about that, @rider1! We are on it."
    [length] = [b for b in view["blocks"] if b.get("block_id") == "reply_length"]
    assert length["elements"][0]["text"] == "40 of X's 280"
    edited = "So sorry, @rider1: your order ships today, tracking is in your DMs."
    status, answer = submit(app, submission(view, edited, "U0ANA"))
    assert (status, answer) == (200, {})
    assert submit(app, submission(view, edited, "U0ANA"))[0] == 200  # the same form sent again
    [reply] = replies(sessions)
    assert (reply.status, reply.text, reply.approved_by, reply.template) == (
        "approved",
        edited,
        "slack:U0ANA",
        None,
    )
    deliver_pending(sessions, {"x": replier(fake_x)}, False, 10)
    assert [p["text"] for p in fake_x.posted] == [edited]
    assert history(slack) == [f"@U0ANA approved the reply: {edited}"]


def test_a_reply_written_from_scratch_must_fit_and_the_form_says_why(
    app: App, slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    assert click(app, with_trigger(payload(card, "write_reply", "U0ANA"))) == 200
    view = opened_view(slack)
    [typed] = [b for b in view["blocks"] if b["type"] == "input"]
    assert typed["element"]["initial_value"] == ""
    assert "Sorry about that, @rider1! We are on it." in json.dumps(view["blocks"])  # among the suggestions
    status, answer = submit(app, submission(view, "日" * 141, "U0ANA"))
    assert status == 200
    assert answer == {
        "response_action": "errors",
        "errors": {"reply": "Too long: 282 of X's 280: 2 too many."},
    }
    status, answer = submit(app, submission(view, "Thanks!", "U0EVE"))
    assert answer["errors"]["reply"].startswith("You may not send replies from Slack")
    assert replies(sessions) == []


def test_the_count_follows_the_text_as_it_is_typed(app: App, slack: FakeSlack, card: dict[str, Any]) -> None:
    assert click(app, with_trigger(payload(card, "write_reply", "U0ANA"))) == 200
    view = {**opened_view(slack), "id": "V0REPLY1", "hash": "1763000000.abc"}
    view["state"] = {
        "values": {
            "reply": {
                "reply_text": {
                    "type": "plain_text_input",
                    "value": "Hi https://nimbuscycles.com/a-very-long-path",
                }
            }
        }
    }
    body = payload(card, "approve_reply", "U0ANA")  # a block_actions envelope, re-aimed at the modal's input
    body.update(
        container={"type": "view", "view_id": "V0REPLY1"},
        view=view,
        actions=[
            {
                "type": "plain_text_input",
                "action_id": "reply_text",
                "block_id": "reply",
                "value": "x",
                "action_ts": "1.1",
            }
        ],
    )
    body.pop("channel")
    body.pop("message")
    assert click(app, body) == 200
    [update] = slack.of("views.update")
    assert (update["view_id"], update["hash"]) == ("V0REPLY1", "1763000000.abc")
    [length] = [b for b in update["view"]["blocks"] if b.get("block_id") == "reply_length"]
    assert length["elements"][0]["text"] == "26 of X's 280"  # a link counts 23


def hark_command(app: App, text: str, user: str = "U0ANA") -> tuple[int, dict[str, Any]]:
    """`/hark TEXT` as Slack posts a slash command: a signed form, answered in the ack."""
    form = {
        "token": "unused-verification-token",
        "team_id": "T0001",
        "team_domain": "nimbus",
        "channel_id": "C0QUEUE",
        "channel_name": "hark-queue",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/hark",
        "text": text,
        "api_app_id": "A0001",
        "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.invalid/commands/T0001/1/abc",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    encoded = urlencode(form)
    response = app.dispatch(BoltRequest(body=encoded, headers={**signed_headers(encoded)}))
    return response.status, json.loads(response.body) if response.body else {}


def words_of(answer: dict[str, Any]) -> str:
    return "".join(str(n.get("text", "")) for n in _nodes(answer.get("blocks")) if n.get("type") == "text")


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def test_hark_customer_search_stats_and_mine_answer_only_the_asker(
    app: App, slack: FakeSlack, sessions: Sessions, card: dict[str, Any]
) -> None:
    status, answer = hark_command(app, "customer @rider1")
    assert status == 200
    assert answer["response_type"] == "ephemeral"
    said = words_of(answer)
    assert "@rider1 (X)" in said
    assert "1 mentions" in said
    assert "my order is late" in said  # the latest mention
    assert "on x: new" in said  # its open case
    assert not [
        n for n in _nodes(answer["blocks"]) if n.get("type") == "mrkdwn"
    ]  # customers' words: text only
    assert "late" in words_of(hark_command(app, "search LATE")[1])
    assert words_of(hark_command(app, "search 100%")[1]) == "No mention says '100%'."
    stats = words_of(hark_command(app, "stats")[1])
    assert "Open cases: 1 (new 1)" in stats
    assert "First response: 1 overdue" in stats  # posted in the past beyond its 4 h SLA
    assert words_of(hark_command(app, "mine")[1]) == "You hold no open case."
    assert click(app, payload(card, "claim_case", "U0ANA")) == 200
    assert "#1 on x: claimed, held by" in words_of(hark_command(app, "mine")[1])
    assert words_of(hark_command(app, "customer @nobody_here")[1]) == "no x account '@nobody_here' is known"
    assert words_of(hark_command(app, "frobnicate")[1]).startswith("/hark customer @handle")
    assert (
        slack.of("chat.postMessage")[-1:]
        == [m for m in slack.of("chat.postMessage") if m.get("thread_ts")][-1:]
    )


def test_only_pausers_may_pause_and_resume_from_slack(app: App, sessions: Sessions) -> None:
    assert words_of(hark_command(app, "pause storm", user="U0ANA")[1]).startswith("You may not pause")
    with sessions() as session:
        assert replies_paused(session) is None
    assert "Replies are paused by" in words_of(hark_command(app, "pause storm on X", user="U0BEA")[1])
    with sessions() as session:
        paused = replies_paused(session)
    assert paused is not None
    assert (paused.by, paused.reason) == ("slack:U0BEA", "storm on X")
    assert "Replies: paused by slack:U0BEA" in words_of(hark_command(app, "stats")[1])
    assert words_of(hark_command(app, "resume", user="U0ANA")[1]).startswith("You may not pause")
    assert words_of(hark_command(app, "resume", user="U0BEA")[1]).startswith("Replies flow again")
    with sessions() as session:
        assert replies_paused(session) is None


def test_a_hostile_post_stays_literal_in_every_message_hark_sends(
    app: App, slack: FakeSlack, sessions: Sessions, fake_x: FakeX
) -> None:
    hostile = f"@{BRAND_HANDLE} late! <!channel> <!here> <@U123> <https://x.example|y> *SYSTEM* _x_ ~y~ `z`"
    route(sessions, slack, fake_x, (1, hostile, True))
    [card] = cards(slack)
    for action, user in (("claim_case", "U0ANA"), ("approve_reply", "U0ANA"), ("escalate_case", "U0ANA")):
        assert click(app, payload(card, action, user)) == 200
    assert hark_command(app, "search late")[0] == 200
    sent = [(m, a) for m, a in slack.calls if m in ("chat.postMessage", "chat.update", "chat.postEphemeral")]
    assert {m for m, _ in sent} >= {"chat.postMessage", "chat.update"}
    for method, args in sent:
        marked = json.dumps(
            [n.get("text") for n in _nodes(args.get("blocks")) if n.get("type") == "mrkdwn"]
            + [args.get("text")]
            if method == "chat.postEphemeral" or args.get("mrkdwn") not in (False, "false", "0")
            else [n.get("text") for n in _nodes(args.get("blocks")) if n.get("type") == "mrkdwn"]
        )
        for live in (
            "<!channel>",
            "<!here>",
            "<@U123>",
            "<https://x.example|y>",
            "*SYSTEM*",
            "_x_",
            "~y~",
            "`z`",
        ):
            assert live not in marked, (method, live, marked)
    shown = [
        n.get("text")
        for _, a in sent
        for n in _nodes(a.get("blocks"))
        if n.get("type") in ("text", "plain_text")
    ]
    assert any(hostile in str(text) for text in shown)  # the post itself, whole, as text
