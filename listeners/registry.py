"""Build the listener that each source in config names."""

from __future__ import annotations

from typing import assert_never

from hark.config import AppConfig, Secrets
from hark.ownership import OwnAccounts
from listeners.base import Listener
from listeners.config import ListenerConfig, RedditListenerConfig, ReplayListenerConfig, XListenerConfig
from listeners.filters import FilteredListener, MentionFilter


def _secret(value: object) -> str | None:
    get = getattr(value, "get_secret_value", None)
    return str(get()) if get is not None else (str(value) if value else None)


def reddit_credentials(secrets: Secrets) -> dict[str, str | None]:
    """The REDDIT_* environment variables, by name, for praw."""
    return {
        "REDDIT_CLIENT_ID": _secret(secrets.reddit_client_id),
        "REDDIT_CLIENT_SECRET": _secret(secrets.reddit_client_secret),
        "REDDIT_USERNAME": secrets.reddit_username,
        "REDDIT_PASSWORD": _secret(secrets.reddit_password),
        "REDDIT_USER_AGENT": secrets.reddit_user_agent,
    }


def build_listener(cfg: ListenerConfig, app: AppConfig, secrets: Secrets) -> Listener:
    """Return the listener that cfg.type names, behind the source's mention filters.

    Raises ConfigError if a secret or a file is missing.
    """
    own = OwnAccounts.build(app.brand.x_accounts, app.brand.reddit_accounts)
    return FilteredListener(
        _build_platform_listener(cfg, app, secrets), MentionFilter.build(cfg.filters, own)
    )


def _build_platform_listener(cfg: ListenerConfig, app: AppConfig, secrets: Secrets) -> Listener:
    brand = app.brand
    match cfg:  # imports inside branches: an unused platform's SDK is never imported
        case ReplayListenerConfig():
            from listeners.replay import ReplayListener

            return ReplayListener.from_config(
                cfg,
                x_handles=tuple(brand.x_accounts),
                x_ids=tuple(brand.x_accounts.values()),
                reddit_accounts=brand.reddit_accounts,
            )
        case XListenerConfig():
            from listeners.x import XListener

            return XListener.from_config(
                cfg,
                _secret(secrets.x_bearer_token),
                brand_handles=tuple(brand.x_accounts),
                brand_ids=tuple(brand.x_accounts.values()),
            )
        case RedditListenerConfig():
            from listeners.reddit import RedditListener

            return RedditListener.from_config(
                cfg, reddit_credentials(secrets), brand_accounts=brand.reddit_accounts
            )
        case _:
            assert_never(cfg)
