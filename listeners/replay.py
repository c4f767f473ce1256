"""Replay a recorded file of platform-native JSON through the real normalisers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hark.brand import OwnAccounts
from hark.errors import ConfigError, PermanentError
from hark.records import Batch, Mention
from listeners.config import ReplayListenerConfig
from platforms.registry import get_platform


def _order_key(mention: Mention) -> str:
    # ISO UTC timestamps sort as text; the id breaks ties between posts of the same second
    return f"{mention.created_at.isoformat()}|{mention.external_id}"


class ReplayListener:
    """Hands out the mentions of a recorded file oldest first, `page_size` at a time."""

    def __init__(self, name: str, mentions: Sequence[Mention], *, interval_s: int, page_size: int) -> None:
        self.name = name
        self.interval_s = interval_s
        self._page_size = page_size
        self._mentions = sorted(mentions, key=_order_key)

    @classmethod
    def from_config(cls, cfg: ReplayListenerConfig, own: OwnAccounts) -> ReplayListener:
        """Read and parse the whole file now, so a bad file stops startup instead of a poll."""
        try:
            pages: Any = json.loads(cfg.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ConfigError(f"sources.{cfg.name}.path: cannot read {cfg.path}: {err}") from err
        if not isinstance(pages, list):
            raise ConfigError(f"sources.{cfg.name}.path: {cfg.path} must hold a JSON array of pages")
        parse_page = get_platform(cfg.platform).parse_page  # the platform's own normaliser
        mentions: list[Mention] = []
        try:
            for page in pages:
                mentions += parse_page(page, cfg.name, own)
        except (PermanentError, AttributeError) as err:
            raise ConfigError(f"sources.{cfg.name}.path: {cfg.path}: {err}") from err
        return cls(cfg.name, mentions, interval_s=cfg.interval_s, page_size=cfg.page_size)

    def fetch(self, cursor: str | None) -> Batch:
        pending = [m for m in self._mentions if cursor is None or _order_key(m) > cursor]
        page = tuple(pending[: self._page_size])
        next_cursor = _order_key(page[-1]) if page else cursor
        return Batch(mentions=page, cursor=next_cursor, more=len(pending) > len(page))
