"""Build the listener that each source in config names."""

from __future__ import annotations

from typing import assert_never

from hark.brand import OwnAccounts
from hark.secrets import read_secrets
from listeners.base import Listener
from listeners.config import ListenerConfig, RedditListenerConfig, ReplayListenerConfig, XListenerConfig
from listeners.filters import FilteredListener, MentionFilter


def build_listener(cfg: ListenerConfig, own: OwnAccounts) -> Listener:
    """Return the listener that cfg.type names, behind the source's mention filters.

    Each platform reads its own credentials from the environment. Raises ConfigError if a secret or a
    file is missing.
    """
    return FilteredListener(_build_platform_listener(cfg, own), MentionFilter.build(cfg.filters, own))


def _build_platform_listener(cfg: ListenerConfig, own: OwnAccounts) -> Listener:
    match cfg:  # imports inside branches: an unused platform's SDK is never imported
        case ReplayListenerConfig():
            from listeners.replay import ReplayListener

            return ReplayListener.from_config(cfg, own)
        case XListenerConfig():
            from listeners.x import XListener
            from platforms.x import XSecrets

            return XListener.from_config(cfg, read_secrets(XSecrets), own)
        case RedditListenerConfig():
            from listeners.reddit import RedditListener
            from platforms.reddit import RedditSecrets

            return RedditListener.from_config(cfg, read_secrets(RedditSecrets), own)
        case _:
            assert_never(cfg)
