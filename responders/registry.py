"""Build the queue responder and the reply responder that config and secrets call for."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rich.console import Console

from hark.config import AppConfig, Secrets
from hark.errors import ConfigError
from responders.base import QueueResponder, ReplyResponder
from store.db import Sessions

if TYPE_CHECKING:
    from responders.slack_app import SlackAppServer

log = logging.getLogger(__name__)


def build_queue_responder(app: AppConfig, secrets: Secrets, console: Console | None = None) -> QueueResponder:
    """Slack when configured or when SLACK_BOT_TOKEN is set; otherwise the console."""
    cfg = app.responders.queue
    token = secrets.slack_bot_token.get_secret_value() if secrets.slack_bot_token else None
    if cfg.type == "console" or (cfg.type == "auto" and not token):
        from responders.console import ConsoleQueueResponder

        return ConsoleQueueResponder(console)
    if not token:
        raise ConfigError("responders.queue.type is slack but SLACK_BOT_TOKEN is not set")
    from responders.slack import SlackQueueResponder

    return SlackQueueResponder.from_token(
        token, base_url=cfg.slack_base_url, channel=cfg.channel, escalation_channel=cfg.escalation_channel
    )


def build_slack_app_server(app: AppConfig, secrets: Secrets, sessions: Sessions) -> SlackAppServer | None:
    """The Slack app, when cards go to Slack and Socket Mode or signed HTTP is configured."""
    cfg = app.responders.queue
    token = secrets.slack_bot_token.get_secret_value() if secrets.slack_bot_token else None
    if not token or cfg.type == "console":
        return None
    app_token = secrets.slack_app_token.get_secret_value() if secrets.slack_app_token else None
    signing = secrets.slack_signing_secret.get_secret_value() if secrets.slack_signing_secret else None
    if not app_token and not signing:
        log.warning("slack_app_disabled reason=neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET is set")
        return None
    from slack_sdk import WebClient

    from responders.slack_app import SlackAppServer, build_slack_app

    client = WebClient(token=token, base_url=cfg.slack_base_url, timeout=10)
    return SlackAppServer(
        build_slack_app(client, sessions, signing_secret=signing),
        app_token=app_token,
        host=cfg.slack_http_host,
        port=cfg.slack_http_port,
    )


def build_reply_responders(
    app: AppConfig, secrets: Secrets, console: Console | None = None
) -> dict[str, ReplyResponder]:
    """One responder per platform. In dry-run mode every platform prints instead of posting."""
    if app.responders.replies.dry_run:
        from responders.console import ConsoleReplyResponder

        dry = ConsoleReplyResponder(console)
        return {"x": dry, "reddit": dry}
    out: dict[str, ReplyResponder] = {}
    x_sources = [s for s in app.sources if s.type == "x"]
    if x_sources:
        values = {
            "consumer_key": secrets.x_api_key,
            "consumer_secret": secrets.x_api_secret,
            "access_token": secrets.x_access_token,
            "access_token_secret": secrets.x_access_token_secret,
        }
        missing = [k for k, v in values.items() if v is None]
        if missing:
            raise ConfigError(
                "replies are live (responders.replies.dry_run: false) but X posting credentials are missing: "
                "set X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET"
            )
        from responders.x import XReplyResponder

        out["x"] = XReplyResponder.from_credentials(
            x_sources[0].api_base_url,
            **{k: v.get_secret_value() for k, v in values.items() if v is not None},
        )
    reddit_sources = [s for s in app.sources if s.type == "reddit"]
    if reddit_sources:
        from listeners.reddit import make_reddit
        from listeners.registry import reddit_credentials
        from responders.reddit import RedditReplyResponder

        credentials = reddit_credentials(secrets)
        missing = [name for name, value in credentials.items() if not value]
        if missing:  # posting needs the account's own login (script app), not only the app's
            raise ConfigError(
                f"replies are live (responders.replies.dry_run: false) but {', '.join(missing)} not set"
            )
        out["reddit"] = RedditReplyResponder(make_reddit(reddit_sources[0], credentials))
    return out
