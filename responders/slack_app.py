"""The Slack app (slack-bolt): what the community team does on a queue card comes back to Hark here."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import SQLAlchemyError

from hark.errors import ConfigError, TransientError
from responders.slack import translate_slack_error
from responders.slack_blocks import escape_mrkdwn
from store.db import Sessions
from store.labels import record_correction
from store.seen_requests import first_sight

log = logging.getLogger(__name__)

RELABEL_ACTION = re.compile(r"^relabel_(sentiment|intent|needs_reply|relevant)$")


def build_slack_app(
    client: WebClient,
    sessions: Sessions,
    *,
    signing_secret: str | None,
    process_before_response: bool = False,
) -> App:
    """A bolt App on our own WebClient. Without a signing secret it only serves Socket Mode.

    By default Slack gets its answer as soon as a callback acks and the rest runs on bolt's threads;
    tests pass process_before_response=True so that dispatch() returns after the callback finished.
    """
    app = App(
        client=client,
        signing_secret=signing_secret,
        # bolt's own check raises on a timestamp that is not a number (a 500 and a traceback, not a 401) and
        # logs a refused request's whole body at INFO: SignedRequests does the check instead
        request_verification_enabled=False,
        before_authorize=SignedRequests(signing_secret) if signing_secret is not None else None,
        token_verification_enabled=False,  # the queue responder's startup check already called auth.test
        process_before_response=process_before_response,
        # bolt sets each of its loggers to the root logger's level unless given one: keep them at WARNING,
        # as every SDK logger is (their DEBUG output carries request bodies)
        logger=quiet_bolt_logger(),
        name="slack_bolt.app",  # its listeners' loggers are named after it: under slack_bolt, kept quiet too
    )
    register_review_actions(app, sessions)
    return app


def quiet_bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.hark")
    logger.setLevel(max(logging.WARNING, logging.getLogger().level))
    return logger


class SignedRequests(Middleware):
    """Only requests signed with the app's signing secret within the last five minutes get through (HTTP mode;
    Socket Mode needs no signature). A refusal is a 401 and one log line, never the body."""

    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # bolt's own parameter name
    ) -> BoltResponse:
        if req.mode == "socket_mode":
            return next()
        timestamp = (req.headers.get("x-slack-request-timestamp") or [""])[0]
        signature = (req.headers.get("x-slack-signature") or [""])[0]
        if not timestamp.isascii() or not timestamp.isdigit():
            reason = "timestamp is not a number"
        elif not self._verifier.is_valid(req.raw_body, timestamp, signature):
            reason = "bad or stale signature"
        else:
            return next()
        log.warning("slack_request_refused reason=%s", reason)
        return BoltResponse(status=401, body={"error": "invalid request"})


def parse_choice(value: str) -> tuple[int, str]:
    """ "<mention id>:<label>" from a menu option; ValueError for anything else."""
    mention, sep, label = value.partition(":")
    if not sep or not mention.isdigit() or not label:
        raise ValueError(f"unexpected menu value {value!r}")
    return int(mention), label


def register_review_actions(app: App, sessions: Sessions) -> None:
    """Wire the card menus to Hark. Each callback acks first: Slack retries after 3 s."""

    @app.action(RELABEL_ACTION)
    def relabel(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        field = str(action["action_id"]).removeprefix("relabel_")
        user = body.get("user") or {}
        user_id = str(user.get("id", ""))
        who = f"slack:{user_id or 'unknown'}"  # the id, not the name: names can be changed and reused
        channel = str((body.get("channel") or {}).get("id", ""))
        card_ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
        try:
            mention_id, value = parse_choice(str((action.get("selected_option") or {}).get("value", "")))
            with sessions.begin() as session:
                if not first_sight(session, action_key(user_id, action)):
                    log.info("slack_replay_ignored action=%s user=%s", action.get("action_id"), user_id)
                    return
                row = record_correction(session, mention_id, field, value, who)
                if row is None:  # it already had that label: nothing changed, nothing to announce
                    return
                old, new = row.old_value, row.new_value
        except ValueError as err:
            log.warning("relabel_refused field=%s user=%s reason=%s", field, user_id, err)
            _tell(
                client, channel, f"Hark could not relabel this post: {escape_mrkdwn(str(err))}", user=user_id
            )
            return
        except SQLAlchemyError as err:  # the menu already shows the new value: say it was not kept
            log.error("relabel_not_saved field=%s user=%s error=%s", field, user_id, type(err).__name__)
            _tell(
                client,
                channel,
                "Hark could not save this relabel (database error); please try again.",
                user=user_id,
            )
            return
        log.info("relabel_saved mention=%d field=%s old=%s new=%s by=%s", mention_id, field, old, new, who)
        note = f"<@{user_id}> relabelled {field.replace('_', ' ')}: {old or 'none'} → {new}"
        _tell(client, channel, note, thread=card_ts)


def action_key(user_id: str, action: dict[str, Any]) -> str:
    """One click: its action_ts is the same in a replay or a retry of the request, new in a second click."""
    return f"action:{user_id}:{action.get('action_id')}:{action.get('block_id')}:{action.get('action_ts')}"


def _tell(client: WebClient, channel: str, text: str, *, user: str = "", thread: str | None = None) -> None:
    """A note in the card's thread, or only to one user; the correction is saved whether or not it posts."""
    try:
        if user:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            client.chat_postMessage(channel=channel, text=text, thread_ts=thread)
    except SlackApiError as err:
        log.warning("slack_note_failed channel=%s error=%s", channel, err.response.get("error"))
    except OSError as err:  # network trouble: the note is a courtesy, never worth a traceback
        log.warning("slack_note_failed channel=%s error=%s", channel, err)


class SlackAppServer:
    """Runs the app beside the scheduler: Socket Mode with an app token, else signed HTTP on host:port."""

    def __init__(self, app: App, *, app_token: str | None, host: str, port: int) -> None:
        self._app = app
        self._app_token = app_token
        self._host = host
        self._port = port
        self._stop: list[Any] = []
        self.port = port  # the bound port once started (port 0 picks a free one)

    @classmethod
    def connect(
        cls,
        bot_token: str,
        sessions: Sessions,
        *,
        base_url: str,
        signing_secret: str | None,
        app_token: str | None,
        host: str,
        port: int,
    ) -> SlackAppServer:
        """The app on its own WebClient for the bot token; started by start()."""
        client = WebClient(token=bot_token, base_url=base_url, timeout=10)
        app = build_slack_app(client, sessions, signing_secret=signing_secret)
        return cls(app, app_token=app_token, host=host, port=port)

    def start(self) -> None:
        if self._app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler  # noqa: PLC0415  # Socket Mode only

            socket = SocketModeHandler(self._app, self._app_token)  # starts the client's own threads
            try:
                socket.connect()  # type: ignore[no-untyped-call]  # untyped in bolt
            except SlackApiError as err:  # e.g. a revoked app token: stop at startup, not silently later
                socket.close()  # type: ignore[no-untyped-call]  # untyped in bolt
                raise translate_slack_error(
                    err, "opening the Socket Mode connection", which="app token (SLACK_APP_TOKEN)"
                ) from err
            except OSError as err:
                socket.close()  # type: ignore[no-untyped-call]  # untyped in bolt
                raise TransientError(f"cannot connect to slack for Socket Mode: {err}") from err
            self._stop.append(socket.close)
            log.info("slack_app_started mode=socket")
            return
        from wsgiref.simple_server import WSGIRequestHandler, make_server  # noqa: PLC0415

        from slack_bolt.adapter.wsgi import SlackRequestHandler  # noqa: PLC0415

        class QuietHandler(WSGIRequestHandler):
            timeout = 10  # a client that never finishes its request must not hold shutdown hostage

            def log_message(self, format: str, *args: Any) -> None:  # the stdlib's signature
                log.debug("slack_http %s", format % args)

        handler = SlackRequestHandler(self._app)
        try:
            server = make_server(self._host, self._port, handler, handler_class=QuietHandler)
        except OSError as err:  # e.g. the port is taken: the operator must pick another
            raise ConfigError(
                f"responders.queue.slack_http_host/slack_http_port: cannot listen on "
                f"{self._host}:{self._port}: {err.strerror or err}"
            ) from err
        threading.Thread(target=server.serve_forever, name="slack-http", daemon=True).start()
        self._stop.append(server.server_close)
        self._stop.append(server.shutdown)
        self.port = server.server_port
        log.info("slack_app_started mode=http address=%s:%d path=/slack/events", self._host, self.port)

    def stop(self) -> None:
        while self._stop:
            self._stop.pop()()
