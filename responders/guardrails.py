"""The auto-reply policy: every rule an automated reply must pass, checked in this one place.

Each rule gives a Check (its name, whether it allows the reply, and why), so a block always names the rule
that made it and `hark replies explain` can show all of them. A blocked reply goes to a person, who may
still send it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy.orm as so

from hark.brand import OwnAccounts
from hark.handles import handle_key
from hark.phrases import PhraseSet
from hark.records import Mention
from platforms.registry import get_platform
from responders.config import QuietHours, RepliesConfig
from store.labels import Labels
from store.replies import (
    automated_replies_since,
    identical_replies_since,
    replies_in_thread,
    replies_to_author_since,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyAsk:
    """What the policy weighs: the post, its labels, whether its author is a VIP, and the rendered reply."""

    mention: Mention
    labels: Labels
    vip: bool
    text: str | None = None  # None when the template could not render or did not fit
    refused: str | None = None  # why it could not
    mention_id: int | None = None  # a reply already queued for this very mention is not counted against it


@dataclass(frozen=True, slots=True)
class Check:
    rule: str
    allowed: bool
    why: str


def confidence(labels: Labels) -> float:
    """How sure the labels are of the intent: a person's correction is certain, else the model's own."""
    if "intent" in labels.corrected:
        return 1.0
    return float(labels.intent_scores.get(labels.intent, 0.0))


def is_quiet(hours: QuietHours, now: datetime, zone: ZoneInfo) -> bool:
    """Inside [start, end) in the brand's time zone; a window that passes midnight wraps."""
    at = now.astimezone(zone).time()
    if hours.start <= hours.end:
        return hours.start <= at < hours.end
    return at >= hours.start or at < hours.end


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def policy_checks(
    session: so.Session, ask: ReplyAsk, cfg: RepliesConfig, own: OwnAccounts, *, zone: ZoneInfo, now: datetime
) -> list[Check]:
    """Every rule's verdict on an automated reply to this mention, in the order they are documented."""
    mention, labels = ask.mention, ask.labels
    platform = get_platform(mention.platform)
    conversation = mention.conversation_id or mention.external_id
    sensitive = PhraseSet.of(cfg.sensitive_terms).search(mention.text)
    by_author = replies_to_author_since(
        session, mention.platform, mention.author.user_id, now - timedelta(days=1), exclude=ask.mention_id
    )
    in_thread = replies_in_thread(session, mention.platform, conversation, exclude=ask.mention_id)
    last_hour = automated_replies_since(
        session, mention.platform, now - timedelta(hours=1), exclude=ask.mention_id
    )
    last_day = automated_replies_since(
        session, mention.platform, now - timedelta(days=1), exclude=ask.mention_id
    )
    same_text = (
        identical_replies_since(
            session,
            mention.platform,
            ask.text,
            now - timedelta(hours=cfg.identical_text_hours),
            exclude=ask.mention_id,
        )
        if ask.text
        else 0
    )
    score = confidence(labels)
    quiet = cfg.quiet_hours is not None and is_quiet(cfg.quiet_hours, now, zone)
    return [
        Check(
            "kill_switch",
            not cfg.kill_switch,
            "responders.replies.kill_switch is on" if cfg.kill_switch else "off",
        ),
        Check(
            "own_account",
            not own.owns(mention),
            "the author is one of our accounts" if own.owns(mention) else "a customer",
        ),
        _known_bot(mention, cfg),
        Check(
            "summoned",
            not platform.replies_need_summons or mention.mentions_brand_account,
            f"{platform.title} allows automated replies only to posts that @mention or quote our account: "
            + ("this one does" if mention.mentions_brand_account else "this one does not")
            if platform.replies_need_summons
            else f"{platform.title} has no such rule",
        ),
        Check(
            "intent",
            labels.intent in cfg.allowed_intents,
            f"{labels.intent} is {'' if labels.intent in cfg.allowed_intents else 'not '}in allowed_intents "
            f"({', '.join(cfg.allowed_intents) or 'none'})",
        ),
        Check(
            "confidence",
            score >= cfg.min_confidence,
            f"intent confidence {score:.2f} {'>=' if score >= cfg.min_confidence else '<'} "
            f"{cfg.min_confidence:.2f}",
        ),
        Check(
            "negative",
            not (cfg.block_negative and labels.sentiment == "negative"),
            f"sentiment is {labels.sentiment}"
            + (" (negative posts go to a person)" if cfg.block_negative else ""),
        ),
        Check(
            "vip",
            not (cfg.block_vip and ask.vip),
            "the author is a VIP: a person answers" if ask.vip else "not a VIP",
        ),
        Check(
            "sensitive",
            sensitive is None,
            f"the post says {sensitive.group(0)!r}, a sensitive term" if sensitive else "no sensitive term",
        ),
        Check(
            "author_per_day",
            by_author < cfg.max_per_author_per_day,
            f"{by_author} of {cfg.max_per_author_per_day} replies to this author in the last 24 h",
        ),
        Check(
            "per_thread",
            in_thread < cfg.max_per_thread,
            f"{in_thread} of {cfg.max_per_thread} replies in this thread",
        ),
        Check(
            "account_per_hour",
            last_hour < cfg.max_per_account_per_hour,
            f"{last_hour} of {cfg.max_per_account_per_hour} automated replies on {platform.title} "
            "in the last hour",
        ),
        Check(
            "account_per_day",
            last_day < cfg.max_per_account_per_day,
            f"{last_day} of {cfg.max_per_account_per_day} automated replies on {platform.title} "
            "in the last 24 h",
        ),
        Check(
            "quiet_hours",
            not quiet,
            (
                f"{_hhmm(cfg.quiet_hours.start)}-{_hhmm(cfg.quiet_hours.end)} {zone.key}: "
                + ("now" if quiet else "not now")
            )
            if cfg.quiet_hours
            else "none configured",
        ),
        Check(
            "fits",
            ask.text is not None,
            "renders and fits the platform's limit" if ask.text is not None else (ask.refused or "no text"),
        ),
        Check(
            "identical_text",
            same_text == 0,
            f"the same text went out {same_text} times on {platform.title} "
            f"in the last {cfg.identical_text_hours} h"
            if same_text
            else "a text not sent recently",
        ),
    ]


def _known_bot(mention: Mention, cfg: RepliesConfig) -> Check:
    bot = handle_key(mention.author.handle) in {handle_key(b) for b in cfg.known_bots}
    return Check("known_bot", not bot, "the author is a known bot" if bot else "not a known bot")


def blocking(checks: Sequence[Check]) -> Check | None:
    """The first rule that blocks, or None when every rule allows the reply."""
    return next((check for check in checks if not check.allowed), None)
