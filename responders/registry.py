"""Build the queue responder, the Slack app and the reply responder of each platform."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console

from hark.errors import ConfigError
from hark.secrets import Secrets, read_secrets, reveal
from platforms.reddit import REDDIT, RedditConnection
from platforms.registry import platform_names
from platforms.x import X, XConnection
from responders.base import QueueResponder, ReplyResponder
from responders.config import QueueConfig
from store.config import CustomersConfig
from store.db import Sessions

if TYPE_CHECKING:
    from responders.slack_app import SlackAppServer

log = logging.getLogger(__name__)

LIVE = "replies are live (responders.replies.dry_run: false)"


def build_queue_responder(
    cfg: QueueConfig, secrets: Secrets, console: Console | None = None
) -> QueueResponder:
    """Slack when configured or when SLACK_BOT_TOKEN is set; otherwise the console."""
    token = reveal(secrets.slack_bot_token)
    if cfg.type == "console" or (cfg.type == "auto" and not token):
        from responders.console import ConsoleQueueResponder

        return ConsoleQueueResponder(console)
    if not token:
        raise ConfigError("responders.queue.type is slack but SLACK_BOT_TOKEN is not set")
    from responders.slack import SlackQueueResponder

    return SlackQueueResponder.from_token(token, cfg)


def build_slack_app_server(
    cfg: QueueConfig, secrets: Secrets, sessions: Sessions, customers: CustomersConfig | None = None
) -> SlackAppServer | None:
    """The Slack app, when cards go to Slack and Socket Mode or signed HTTP is configured."""
    token = reveal(secrets.slack_bot_token)
    if not token or cfg.type == "console":
        return None
    app_token = reveal(secrets.slack_app_token)
    signing = reveal(secrets.slack_signing_secret)
    if not app_token and not signing:
        log.warning("slack_app_disabled reason=neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET is set")
        return None
    from responders.slack_app import SlackAppServer

    return SlackAppServer.connect(
        token,
        sessions,
        queue=cfg,
        customers=customers or CustomersConfig(),
        signing_secret=signing,
        app_token=app_token,
    )


def build_reply_responders(
    dry_run: bool, sources: Iterable[object], console: Console | None = None
) -> dict[str, ReplyResponder]:
    """One responder per platform. In dry-run mode every platform prints instead of posting.

    Live, each platform that a source polls gets its client, aimed where that platform's first source
    points (its connection settings); a platform with no source gets none, and its replies fail.
    """
    if dry_run:
        from responders.console import ConsoleReplyResponder

        dry = ConsoleReplyResponder(console)
        return dict.fromkeys(platform_names(), dry)
    out: dict[str, ReplyResponder] = {}
    for source in sources:
        built = _live_replier(source, out.keys())
        if built is not None:
            out[built[0]] = built[1]
    return out


def _live_replier(source: object, done: Iterable[str]) -> tuple[str, ReplyResponder] | None:
    """The replier of the platform whose connection `source` carries; None for replays and done ones."""
    match source:  # imports inside branches: an unused platform's SDK is never imported
        case XConnection() if X.name not in done:
            from platforms.x import XSecrets
            from responders.x import XReplyResponder

            x = read_secrets(XSecrets)
            keys = {
                "consumer_key": reveal(x.api_key),
                "consumer_secret": reveal(x.api_secret),
                "access_token": reveal(x.access_token),
                "access_token_secret": reveal(x.access_token_secret),
            }
            if not all(keys.values()):
                raise ConfigError(
                    f"{LIVE} but X posting credentials are missing: "
                    "set X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET"
                )
            posting = {k: v for k, v in keys.items() if v}
            return X.name, XReplyResponder.from_credentials(source.api_base_url, **posting)
        case RedditConnection() if REDDIT.name not in done:
            from platforms.reddit import RedditSecrets
            from platforms.reddit.client import RedditApi
            from responders.reddit import RedditReplyResponder

            credentials = read_secrets(RedditSecrets).by_variable()
            missing = [name for name, value in credentials.items() if not value]
            if missing:  # posting needs the account's own login (script app), not only the app's
                raise ConfigError(f"{LIVE} but {', '.join(missing)} not set")
            api = RedditApi.connect(
                credentials,
                oauth_url=source.oauth_url,
                reddit_url=source.reddit_url,
                timeout_s=source.timeout_s,
            )
            return REDDIT.name, RedditReplyResponder(api)
    return None
