"""Rules every automated reply must pass, whatever the routing rules say."""

from __future__ import annotations

import sqlalchemy.orm as so

from hark.brand import OwnAccounts
from hark.handles import handle_key
from hark.records import Mention
from platforms.registry import get_platform
from responders.config import RepliesConfig
from store.replies import day_ago, replies_in_thread, replies_to_author_since


def reply_block_reason(  # noqa: PLR0911  # one early return per guardrail reads best
    session: so.Session, mention: Mention, cfg: RepliesConfig, own: OwnAccounts
) -> str | None:
    """Why no automated reply may answer this mention, or None if one may."""
    if cfg.kill_switch:
        return "kill switch is on"
    if own.owns(mention):
        return "the author is one of our accounts"
    if handle_key(mention.author.handle) in {handle_key(b) for b in cfg.known_bots}:
        return "the author is a known bot"
    if get_platform(mention.platform).replies_need_summons and not mention.mentions_brand_account:
        # e.g. X's automation rules allow replies only to users who addressed the account
        return "the author did not @mention or quote our account"
    if (
        replies_to_author_since(session, mention.platform, mention.author.user_id, day_ago())
        >= cfg.max_per_author_per_day
    ):
        return f"already {cfg.max_per_author_per_day} replies to this author today"
    conversation = mention.conversation_id or mention.external_id
    if replies_in_thread(session, mention.platform, conversation) >= cfg.max_per_thread:
        return f"already {cfg.max_per_thread} replies in this thread"
    return None
