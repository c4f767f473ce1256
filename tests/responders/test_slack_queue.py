"""The Slack queue responder, through the real slack-sdk WebClient against a local fake Slack."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pytest
from pytest_httpserver import HTTPServer
from slack_sdk import WebClient
from werkzeug import Request, Response

from hark.errors import AuthError, PermanentError, TransientError
from hark.records import QueueCard
from responders.config import QueueConfig
from responders.slack import ChannelPacer, SlackQueueResponder
from responders.slack_blocks import card_blocks, escape_mrkdwn
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
        "xoxb-test", QueueConfig(slack_base_url=httpserver.url_for("/api/"))
    )


def form(request: Request) -> dict[str, object]:
    if request.mimetype == "application/json":
        loaded: dict[str, object] = json.loads(request.get_data())
        return loaded
    return {k: v for k, v in request.form.items()}


def test_card_is_posted_with_blocks_and_returns_the_channel_id_and_message_ts(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/api/chat.postMessage", method="POST").respond_with_json(
        slack_ok("chat.postMessage", ts="1763000000.000100", channel="C0QUEUE")
    )
    posted = responder(httpserver).post_card(card())
    assert (posted.channel, posted.ref) == ("C0QUEUE", "1763000000.000100")  # the id, not "#hark-queue"
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == "Bearer xoxb-test"
    body = form(request)
    assert body["channel"] == "#hark-queue"
    blocks = json.loads(str(body["blocks"])) if isinstance(body["blocks"], str) else body["blocks"]
    assert isinstance(blocks, list)
    assert any("Maria Keller" in json.dumps(b) for b in blocks)


HOSTILE = (
    "<!channel> <!here> hey <@U123> see <https://evil.example|click here> & more\n"
    "*SYSTEM*: your account is _suspended_ ~now~\n```\nrm -rf\n```\n`inline`"
)


def test_post_text_reaches_slack_as_literal_text_never_as_mrkdwn(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/api/chat.postMessage").respond_with_json(slack_ok("chat.postMessage"))
    responder(httpserver).post_card(
        card(HOSTILE, customer_name="*Maria* <!here>", suggested_reply="_hi_ <@U9>")
    )
    body = payload(form(httpserver.log[0][0]))
    assert_literal(body, [HOSTILE, "*Maria* <!here>", "_hi_ <@U9>"])


def payload(sent: dict[str, object]) -> dict[str, object]:
    """The request's fields with its blocks parsed (slack-sdk sends them as a JSON string in a form)."""
    blocks = sent.get("blocks")
    return {**sent, "blocks": json.loads(blocks) if isinstance(blocks, str) else blocks}


def _walk(node: object) -> Iterator[dict[str, object]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def assert_literal(body: dict[str, object], texts: Sequence[str]) -> None:
    """Each text is somewhere in the blocks as a rich_text or plain_text element, whole; no mrkdwn object and
    no notification fallback (sent with mrkdwn off) carries a live mention, link or formatting."""
    shown = [
        str(node["text"])
        for node in _walk(body["blocks"])
        if node.get("type") in ("text", "plain_text") and isinstance(node.get("text"), str)
    ]
    for text in texts:
        assert any(text in element for element in shown), f"{text!r} not shown literally in {shown}"
    marked = [str(node["text"]) for node in _walk(body["blocks"]) if node.get("type") == "mrkdwn"]
    for fragment in (
        "<!channel>",
        "<!here>",
        "<@U",
        "<https://evil",
        "*SYSTEM*",
        "_suspended_",
        "```",
        "`inline`",
    ):
        assert not any(fragment in text for text in marked), (fragment, marked)
    assert str(body.get("mrkdwn")).lower() == "false"
    fallback = str(body.get("text", ""))
    assert not any(live in fallback for live in ("<!", "<@", "<http"))


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


def test_a_card_with_a_notice_says_it_first_in_bold_literal_text() -> None:
    blocks = card_blocks(card(notice="Our reply to this post failed: *gone*."))
    assert blocks[1] == {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {
                        "type": "text",
                        "text": "⚠ Our reply to this post failed: *gone*.",
                        "style": {"bold": True},
                    }
                ],
            }
        ],
    }
    assert "⚠" not in json.dumps(card_blocks(card()), ensure_ascii=False)


def test_a_long_post_is_cut_at_a_word_and_says_so() -> None:
    long = " ".join(f"word{n}" for n in range(1000))  # 6,890 characters
    blocks = card_blocks(card(long))
    [quote] = [
        b for b in blocks if b["type"] == "rich_text" and b["elements"][0]["type"] == "rich_text_quote"
    ]
    shown, marker = quote["elements"][0]["elements"]
    assert shown["text"].endswith("…")
    assert long.startswith(shown["text"][:-1])
    assert shown["text"][-2].isdigit()  # a whole word before the ellipsis
    left = len(long) - len(shown["text"][:-1])
    assert marker["text"] == f" ({left} more characters: open the post for the rest)"
    whole = card_blocks(card("short post"))
    assert [b for b in whole if "more characters" in json.dumps(b)] == []


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
        "xoxb-test", QueueConfig(slack_base_url="http://127.0.0.1:9/api/")
    )
    with pytest.raises(TransientError, match="cannot connect to slack"):
        unreachable.post_card(card())


def test_escape_is_slacks_own_three_characters() -> None:
    assert escape_mrkdwn("a & <b> *c*") == "a &amp; &lt;b&gt; *c*"


def test_replies_sent_to_similar_posts_show_on_the_card_as_a_literal_list() -> None:
    blocks = card_blocks(card(similar_replies=("Sorry <!channel>, DM us", "We're on it")))
    [listing] = [
        b for b in blocks if b["type"] == "rich_text" and b["elements"][0]["type"] == "rich_text_list"
    ]
    items = [item["elements"][0]["text"] for item in listing["elements"][0]["elements"]]
    assert items == ["Sorry <!channel>, DM us", "We're on it"]
    assert_literal({"blocks": blocks, "mrkdwn": False}, items)
    assert "Sent to similar posts" not in json.dumps(card_blocks(card()))


def test_a_short_rate_limit_is_waited_out_and_retried_by_slack_sdk(httpserver: HTTPServer) -> None:
    limited = Response(json.dumps(slack_error("ratelimited")), status=429, headers={"Retry-After": "1"})
    httpserver.expect_ordered_request("/api/chat.postMessage").respond_with_response(limited)
    httpserver.expect_ordered_request("/api/chat.postMessage").respond_with_response(limited)
    httpserver.expect_ordered_request("/api/chat.postMessage").respond_with_json(
        slack_ok("chat.postMessage", ts="1763000000.000300", channel="C0QUEUE")
    )
    waits: list[float] = []
    client = WebClient(token="xoxb-test", base_url=httpserver.url_for("/api/"))
    queue = SlackQueueResponder(
        client, channel="#hark-queue", escalation_channel="#e", pacer=ChannelPacer(0, wait=waits.append)
    )
    assert queue.post_card(card()).ref == "1763000000.000300"
    assert len(httpserver.log) == 3
    assert [round(w, 1) for w in waits] == [1.1, 1.1]  # Retry-After, and a little more


def test_the_pacer_gives_each_channel_one_message_a_second() -> None:
    now = [100.0]
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)

    pacer = ChannelPacer(1.0, wait=wait, clock=lambda: now[0])
    assert [pacer.take_turn("C1") for _ in range(3)] == [0, 1.0, 2.0]
    assert pacer.take_turn("C2") == 0  # another channel has its own turns
    now[0] = 110.0
    assert pacer.take_turn("C1") == 0  # the turns do not pile up while the channel is quiet
    assert waits == [1.0, 2.0]
