"""The Slack queue responder, through the real slack-sdk WebClient against a local fake Slack."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from hark.errors import AuthError, PermanentError, TransientError
from hark.records import QueueCard
from responders.slack import SlackQueueResponder, card_blocks, escape_mrkdwn
from tests.slack_peer import slack_error, slack_ok


def card(text: str = "my battery died", **changes: object) -> QueueCard:
    values: dict[str, object] = {
        "case_id": 7,
        "mention_id": 70,
        "platform": "x",
        "author_handle": "maria_rides",
        "author_followers": 1200,
        "customer_name": "Maria Keller",
        "customer_tier": "VIP",
        "text": text,
        "url": "https://x.com/maria_rides/status/1",
        "sentiment": "negative",
        "intent": "complaint",
        "priority": 90,
        "channel": "#hark-queue",
    }
    values.update(changes)
    return QueueCard(**values)  # type: ignore[arg-type]


def responder(httpserver: HTTPServer) -> SlackQueueResponder:
    return SlackQueueResponder.from_token(
        "xoxb-test",
        base_url=httpserver.url_for("/api/"),
        channel="#hark-queue",
        escalation_channel="#hark-escalations",
    )


def form(request: Request) -> dict[str, object]:
    if request.mimetype == "application/json":
        loaded: dict[str, object] = json.loads(request.get_data())
        return loaded
    return {k: v for k, v in request.form.items()}


def test_card_is_posted_with_blocks_and_returns_the_message_ts(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/api/chat.postMessage", method="POST").respond_with_json(
        slack_ok("chat.postMessage", ts="1763000000.000100")
    )
    ts = responder(httpserver).post_card(card())
    assert ts == "1763000000.000100"
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == "Bearer xoxb-test"
    body = form(request)
    assert body["channel"] == "#hark-queue"
    blocks = json.loads(str(body["blocks"])) if isinstance(body["blocks"], str) else body["blocks"]
    assert isinstance(blocks, list)
    assert any("Maria Keller" in json.dumps(b) for b in blocks)


def test_post_text_cannot_ping_the_channel_or_users_or_hide_links(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/api/chat.postMessage").respond_with_json(slack_ok("chat.postMessage"))
    hostile = "<!channel> hey <@U024BE7LH> see <https://evil.example|click here> & more"
    responder(httpserver).post_card(card(hostile))
    sent = json.dumps(form(httpserver.log[0][0]))
    assert "<!channel>" not in sent
    assert "<@U024BE7LH>" not in sent
    assert "<https://evil.example|click here>" not in sent
    assert "&lt;!channel&gt;" in sent


def test_follow_up_goes_into_the_case_thread(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/api/chat.postMessage").respond_with_json(slack_ok("chat.postMessage"))
    responder(httpserver).post_card(card(), thread="1763000000.000100")
    assert form(httpserver.log[0][0])["thread_ts"] == "1763000000.000100"


def test_a_note_goes_into_the_thread_as_plain_text(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/api/chat.postMessage").respond_with_json(
        slack_ok("chat.postMessage", ts="1763000000.000200")
    )
    hostile = "Our reply failed: *SYSTEM* <!here> `rm` <@U024BE7LH>"
    ts = responder(httpserver).note("C123", "1763000000.000100", hostile)
    assert ts == "1763000000.000200"
    body = form(httpserver.log[0][0])
    assert (body["channel"], body["thread_ts"]) == ("C123", "1763000000.000100")
    blocks = json.loads(str(body["blocks"])) if isinstance(body["blocks"], str) else body["blocks"]
    assert blocks == [{"type": "section", "text": {"type": "plain_text", "text": hostile, "emoji": False}}]
    assert "<!here>" not in str(body["text"])  # the notification fallback is escaped too


def test_a_card_with_a_notice_says_it_first_in_plain_text() -> None:
    blocks = card_blocks(card(notice="Our reply to this post failed: *gone*."))
    assert blocks[1] == {
        "type": "section",
        "text": {"type": "plain_text", "text": "⚠ Our reply to this post failed: *gone*."},
    }
    assert all(b.get("text", {}).get("type") != "plain_text" for b in card_blocks(card())[1:])


def test_escalation_goes_to_the_escalation_channel(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/api/chat.postMessage").respond_with_json(slack_ok("chat.postMessage"))
    responder(httpserver).post_card(card(escalated=True, channel=""))
    assert form(httpserver.log[0][0])["channel"] == "#hark-escalations"


def test_rate_limit_is_transient_with_the_servers_wait(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/chat.postMessage").respond_with_response(
        Response(json.dumps(slack_error("ratelimited")), status=429, headers={"Retry-After": "17"})
    )
    with pytest.raises(TransientError) as caught:
        responder(httpserver).post_card(card())
    assert caught.value.retry_after_s == 17


def test_revoked_token_is_an_auth_error_at_startup(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/auth.test").respond_with_json(slack_error("invalid_auth"))
    with pytest.raises(AuthError, match="invalid_auth"):
        responder(httpserver).check()


def test_startup_check_passes_with_a_good_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/auth.test").respond_with_json(slack_ok("auth.test", team="Nimbus"))
    assert responder(httpserver).check() == "Nimbus"


def test_unknown_channel_is_permanent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/chat.postMessage").respond_with_json(slack_error("channel_not_found"))
    with pytest.raises(PermanentError, match="channel_not_found"):
        responder(httpserver).post_card(card())


def test_unreachable_slack_is_transient() -> None:
    unreachable = SlackQueueResponder.from_token(
        "xoxb-test", base_url="http://127.0.0.1:9/api/", channel="#q", escalation_channel="#e"
    )
    with pytest.raises(TransientError, match="cannot connect to slack"):
        unreachable.post_card(card())


def test_escape_is_slacks_own_three_characters() -> None:
    assert escape_mrkdwn("a & <b> *c*") == "a &amp; &lt;b&gt; *c*"


def test_replies_sent_to_similar_posts_show_on_the_card_escaped() -> None:
    blocks = card_blocks(card(similar_replies=("Sorry <!channel>, DM us", "We're on it")))
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    similar = next(t for t in texts if t.startswith("*Sent to similar posts:*"))
    assert "• Sorry &lt;!channel&gt;, DM us" in similar
    assert "• We're on it" in similar
    assert not any(
        "Sent to similar posts" in t
        for b in card_blocks(card())
        if b["type"] == "section"
        for t in [b["text"]["text"]]
    )
