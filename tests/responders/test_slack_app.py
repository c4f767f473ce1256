"""The Slack app: signed block_actions from a card's menus, dispatched through the real slack-bolt App."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from app.config import AppConfig
from cli.conventions import setup_logging
from hark.errors import AuthError, ConfigError
from hark.secrets import Secrets
from responders.registry import build_slack_app_server
from responders.slack_app import SlackAppServer, build_slack_app
from responders.slack_blocks import card_blocks
from store.cards import record_card
from store.cases import attach_card, ensure_case
from store.db import Sessions
from store.labels import effective_labels
from store.models import LabelCorrectionRow, MentionRow
from tests.conftest import SHARED
from tests.fakes import one_classified_mention
from tests.responders.test_slack_queue import card, form
from tests.slack_peer import SIGNING_SECRET, signed_headers, slack_error, slack_ok

SECRET = SIGNING_SECRET
CARD_TS = "1763000000.000100"


@pytest.fixture
def mention_id(sessions: Sessions) -> int:
    """A classified mention with a case whose card is message CARD_TS in C0QUEUE."""
    mention = one_classified_mention(sessions)
    with sessions.begin() as session:
        row = session.get_one(MentionRow, mention)
        case_id = ensure_case(session, row, 50)
        posted = card(case_id=case_id, mention_id=mention, channel="C0QUEUE")
        attach_card(session, case_id, channel="C0QUEUE", ref=CARD_TS, escalated=False)
        record_card(session, posted, channel="C0QUEUE", ts=CARD_TS, at=datetime.now(UTC))
    return mention


@pytest.fixture
def slack(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/api/auth.test").respond_with_json(slack_ok("auth.test"))  # bolt's authorize
    httpserver.expect_request("/api/chat.postMessage").respond_with_json(slack_ok("chat.postMessage"))
    httpserver.expect_request("/api/chat.postEphemeral").respond_with_json({"ok": True, "message_ts": "1.2"})
    httpserver.expect_request("/api/chat.update").respond_with_json(
        {"ok": True, "channel": "C0QUEUE", "ts": CARD_TS}
    )
    return httpserver


@pytest.fixture
def slack_app(slack: HTTPServer, sessions: Sessions) -> App:
    client = WebClient(token="xoxb-test", base_url=slack.url_for("/api/"))  # fake token
    return build_slack_app(client, sessions, signing_secret=SECRET, process_before_response=True)


def block_actions(action_id: str, value: str) -> dict[str, Any]:
    """Slack's block_actions payload (fields as in the recorded schema), for one static_select choice."""
    recorded = SHARED / "fixtures" / "slack" / "app-backend" / "BlockActionPayload.json"
    payload: dict[str, Any] = json.loads(recorded.read_text(encoding="utf-8"))
    payload.update(
        team={"id": "T0001", "domain": "nimbus"},
        user={"id": "U0ANA", "username": "ana", "name": "ana", "team_id": "T0001"},
        api_app_id="A0001",
        container={"type": "message", "message_ts": CARD_TS, "channel_id": "C0QUEUE", "is_ephemeral": False},
        channel={"id": "C0QUEUE", "name": "hark-queue"},
        message={"type": "message", "ts": CARD_TS, "text": "card", "blocks": []},
        response_url="https://hooks.slack.invalid/actions/T0001/1/abc",
        actions=[
            {
                "type": "static_select",
                "action_id": action_id,
                "block_id": "relabel:1",
                "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
                "action_ts": "1763000001.000200",
            }
        ],
    )
    return payload


def signed(body: str, secret: str = SECRET) -> dict[str, str]:
    return signed_headers(body, secret=secret)


def click(app: App, action_id: str, value: str, secret: str = SECRET) -> int:
    body = urlencode({"payload": json.dumps(block_actions(action_id, value))})
    return app.dispatch(BoltRequest(body=body, headers={**signed(body, secret)})).status


def posted(slack: HTTPServer, method: str) -> list[dict[str, object]]:
    return [form(request) for request, _ in slack.log if request.path == f"/api/{method}"]


def test_card_menus_carry_the_mention_and_preselect_the_model_labels() -> None:
    actions = card_blocks(card())[-1]
    assert actions["type"] == "actions"
    menus = {element["action_id"]: element for element in actions["elements"]}
    assert set(menus) == {"relabel_sentiment", "relabel_intent", "relabel_needs_reply", "relabel_relevant"}
    assert menus["relabel_intent"]["initial_option"]["value"] == "70:complaint"
    assert menus["relabel_sentiment"]["initial_option"]["value"] == "70:negative"
    assert len(menus["relabel_intent"]["options"]) == 8
    assert "initial_option" not in menus["relabel_relevant"]  # the card does not know it; no guess shown


def test_relabel_from_a_card_is_stored_as_a_correction_and_noted_in_the_thread(
    slack_app: App, slack: HTTPServer, sessions: Sessions, mention_id: int
) -> None:
    assert click(slack_app, "relabel_intent", f"{mention_id}:feature_request") == 200
    with sessions() as session:
        labels = effective_labels(session, mention_id)
        corrections = session.scalars(sa.select(LabelCorrectionRow)).all()
    assert labels is not None
    assert (labels.intent, labels.corrected) == ("feature_request", ("intent",))
    assert [(c.field, c.old_value, c.new_value, c.corrected_by) for c in corrections] == [
        ("intent", "praise", "feature_request", "slack:U0ANA")  # the id: a username can change hands
    ]
    (note,) = posted(slack, "chat.postMessage")
    assert note["thread_ts"] == CARD_TS
    assert note["text"] == "@U0ANA relabelled intent: praise → feature_request"
    blocks: Any = note["blocks"] if isinstance(note["blocks"], list) else json.loads(str(note["blocks"]))
    assert blocks[0]["elements"][0]["elements"][0] == {"type": "user", "user_id": "U0ANA"}
    (update,) = posted(slack, "chat.update")
    assert update["ts"] == CARD_TS  # the card shows the new label in its menu


def test_a_forged_request_changes_nothing(slack_app: App, sessions: Sessions, mention_id: int) -> None:
    assert click(slack_app, "relabel_sentiment", f"{mention_id}:negative", secret="not-the-secret") == 401
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LabelCorrectionRow)) == 0


@pytest.mark.parametrize("value", ["999999:negative", "{mention}:furious", "garbage"])
def test_a_bad_choice_is_refused_to_the_user_only(
    slack_app: App, slack: HTTPServer, sessions: Sessions, mention_id: int, value: str
) -> None:
    assert click(slack_app, "relabel_sentiment", value.format(mention=mention_id)) == 200
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LabelCorrectionRow)) == 0
    (warning,) = posted(slack, "chat.postEphemeral")
    assert warning["user"] == "U0ANA"
    assert str(warning["text"]).startswith("Hark could not relabel this post:")
    assert posted(slack, "chat.postMessage") == []


def test_http_mode_serves_signed_requests_on_its_own_port(
    slack_app: App, sessions: Sessions, mention_id: int
) -> None:
    server = SlackAppServer(slack_app, app_token=None, host="127.0.0.1", port=0)
    server.start()
    try:
        body = urlencode({"payload": json.dumps(block_actions("relabel_needs_reply", f"{mention_id}:true"))})
        request = urllib.request.Request(  # a local URL
            f"http://127.0.0.1:{server.port}/slack/events", data=body.encode(), headers=signed(body)
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200
        forged = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/slack/events", data=body.encode(), headers=signed(body, "wrong")
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=10)  # noqa: S310
        assert refused.value.code == 401
    finally:
        server.stop()
    with sessions() as session:
        labels = effective_labels(session, mention_id)
    assert labels is not None
    assert labels.needs_reply is True


def test_the_app_runs_only_when_slack_can_reach_it(
    monkeypatch: pytest.MonkeyPatch,
    app_config: AppConfig,
    sessions: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    queue = app_config.responders.queue
    assert build_slack_app_server(queue, Secrets(), sessions) is None  # console queue: no app
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    assert build_slack_app_server(queue, Secrets(), sessions) is None
    assert "slack_app_disabled" in caplog.text  # cards would carry menus nobody can answer
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    assert isinstance(build_slack_app_server(queue, Secrets(), sessions), SlackAppServer)


def test_a_rejected_app_token_stops_startup_with_an_auth_error(
    httpserver: HTTPServer, sessions: Sessions
) -> None:
    httpserver.expect_request("/api/apps.connections.open").respond_with_json(slack_error("invalid_auth"))
    client = WebClient(token="xoxb-test", base_url=httpserver.url_for("/api/"))
    app = build_slack_app(client, sessions, signing_secret=None)
    server = SlackAppServer(app, app_token="xapp-test", host="127.0.0.1", port=0)
    with pytest.raises(AuthError, match=r"app token \(SLACK_APP_TOKEN\) \(invalid_auth\)"):
        server.start()
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == "Bearer xapp-test"  # the app-level token, not the bot's


def test_a_relabel_the_database_cannot_keep_is_reported_to_the_user(
    slack_app: App, slack: HTTPServer, sessions: Sessions, mention_id: int
) -> None:
    with sessions.begin() as session:  # the store cannot take the write: no corrections table
        session.execute(sa.text(f"DROP TABLE {LabelCorrectionRow.__tablename__}"))
    assert click(slack_app, "relabel_intent", f"{mention_id}:complaint") == 200
    (warning,) = posted(slack, "chat.postEphemeral")
    assert warning["user"] == "U0ANA"
    assert "could not save this (relabel this post: database error)" in str(warning["text"])
    assert posted(slack, "chat.postMessage") == []  # no thread note claims a change that was not kept


def test_a_taken_http_port_is_a_config_error(slack_app: App) -> None:
    first = SlackAppServer(slack_app, app_token=None, host="127.0.0.1", port=0)
    first.start()
    try:
        second = SlackAppServer(slack_app, app_token=None, host="127.0.0.1", port=first.port)
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            second.start()
    finally:
        first.stop()


def dispatch(app: App, body: str, headers: dict[str, str]) -> int:
    return app.dispatch(BoltRequest(body=body, headers={**headers})).status


@pytest.mark.parametrize("timestamp", ["soon", "", "١٧٦٣٠٠٠٠٠٠", "1e9"])
def test_a_timestamp_that_is_not_a_number_is_a_401_without_a_traceback(
    slack_app: App, sessions: Sessions, mention_id: int, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    body = urlencode({"payload": json.dumps(block_actions("relabel_sentiment", f"{mention_id}:negative"))})
    headers = {**signed(body), "x-slack-request-timestamp": timestamp}
    assert dispatch(slack_app, body, headers) == 401
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LabelCorrectionRow)) == 0
    assert [r.levelname for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "slack_request_refused reason=timestamp is not a number" in caplog.text


def test_a_stale_signature_is_refused(slack_app: App, sessions: Sessions, mention_id: int) -> None:
    body = urlencode({"payload": json.dumps(block_actions("relabel_sentiment", f"{mention_id}:negative"))})
    assert dispatch(slack_app, body, signed_headers(body, age_s=301)) == 401
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LabelCorrectionRow)) == 0


def test_a_forged_request_is_logged_without_its_body_even_at_debug(
    slack: HTTPServer,
    sessions: Sessions,
    mention_id: int,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HARK_LOG_LEVEL", "DEBUG")
    setup_logging()  # as every hark command starts
    caplog.set_level(logging.DEBUG)  # the root logger at DEBUG, as HARK_LOG_LEVEL=DEBUG sets it
    client = WebClient(token="xoxb-test", base_url=slack.url_for("/api/"))
    app = build_slack_app(client, sessions, signing_secret=SECRET, process_before_response=True)
    assert all(
        logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
        for name in logging.root.manager.loggerDict
        if name.startswith("slack_bolt")
    )
    secret_words = "only-in-the-forged-body"
    payload = block_actions("relabel_sentiment", f"{mention_id}:negative") | {"note": secret_words}
    body = urlencode({"payload": json.dumps(payload)})
    assert dispatch(app, body, signed(body, "not-the-secret")) == 401
    assert secret_words not in caplog.text
    assert "slack_request_refused reason=bad or stale signature" in caplog.text


def test_the_refusal_of_a_bad_menu_value_does_not_echo_it_live(
    slack_app: App, slack: HTTPServer, mention_id: int
) -> None:
    assert click(slack_app, "relabel_sentiment", f"{mention_id}:<!channel>") == 200
    (warning,) = posted(slack, "chat.postEphemeral")
    assert "<!channel>" not in str(warning["text"])
    assert "&lt;!channel&gt;" in str(warning["text"])


def test_the_same_signed_request_twice_is_applied_once(
    slack_app: App, slack: HTTPServer, sessions: Sessions, mention_id: int
) -> None:
    body = urlencode({"payload": json.dumps(block_actions("relabel_intent", f"{mention_id}:complaint"))})
    headers = signed(body)
    assert dispatch(slack_app, body, headers) == 200
    assert dispatch(slack_app, body, {**headers, "x-slack-retry-num": "1"}) == 200
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LabelCorrectionRow)) == 1
    assert len(posted(slack, "chat.postMessage")) == 1


def test_a_relabel_to_the_label_it_has_is_neither_recorded_nor_announced(
    slack_app: App, slack: HTTPServer, sessions: Sessions, mention_id: int
) -> None:
    assert click(slack_app, "relabel_intent", f"{mention_id}:praise") == 200  # what the model said
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LabelCorrectionRow)) == 0
    assert posted(slack, "chat.postMessage") == []
    assert posted(slack, "chat.postEphemeral") == []
