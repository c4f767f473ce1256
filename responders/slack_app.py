"""The Slack app (slack-bolt): what the community team does on a queue card comes back to Hark here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from hark.errors import ConfigError, TransientError
from responders.config import QueueConfig
from responders.slack import SlackQueueResponder, translate_slack_error
from responders.slack_access import SlackAccess
from responders.slack_actions import CardWorkflow, register_review_actions
from responders.slack_commands import HarkCommand
from store.config import CustomersConfig
from store.db import Sessions

log = logging.getLogger(__name__)


def build_slack_app(
    client: WebClient,
    sessions: Sessions,
    *,
    signing_secret: str | None,
    queue: QueueConfig | None = None,
    customers: CustomersConfig | None = None,
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
    cfg = queue or QueueConfig()
    cards = SlackQueueResponder.on_client(client, cfg)
    register_review_actions(app, CardWorkflow(sessions, cards, cfg, SlackAccess(client, cfg.senders)))
    command = HarkCommand(sessions, customers or CustomersConfig(), SlackAccess(client, cfg.pausers))
    app.command("/hark")(command.answer)
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
        queue: QueueConfig,
        customers: CustomersConfig,
        signing_secret: str | None,
        app_token: str | None,
    ) -> SlackAppServer:
        """The app on its own WebClient for the bot token; started by start()."""
        client = WebClient(token=bot_token, base_url=queue.slack_base_url, timeout=10)
        app = build_slack_app(
            client, sessions, signing_secret=signing_secret, queue=queue, customers=customers
        )
        return cls(app, app_token=app_token, host=queue.slack_http_host, port=queue.slack_http_port)

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
