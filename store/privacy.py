"""Privacy: export everything about a person, forget a person, remove a post deleted upstream.

Forgetting erases personal data and text but keeps the rows that reports count (mentions with
their labels, cases, replies, leads), so every aggregate stays right: a forgotten person becomes
an anonymous customer whose mentions have no text, author or link. Their handles, names and text
are then searched for in every text and JSON column of every table (other people's replies that
quote them, payloads of comments under their posts, audit details, report bodies) and redacted.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from platforms.registry import get_platform
from store.cards import reshow_cards
from store.config import CustomersConfig
from store.customers import FORGOTTEN, CustomerNotFoundError, audit, erasure_key
from store.models import (
    Base,
    CustomerRow,
    IdentityRow,
    LinkSuggestionRow,
    MentionRow,
    MentionVectorRow,
    ReplyRow,
)
from store.profiles import customer_export

log = logging.getLogger(__name__)

MIN_NEEDLE = 3  # shorter strings would redact ordinary words
# columns that hold platform ids, keys or our own names, never a person's words
ID_COLUMNS = frozenset(
    {
        "external_id",
        "conversation_id",
        "in_reply_to",
        "idempotency_key",
        "platform_post_id",
        "slack_ts",
        "slack_channel",
        "channel",
        "ts",
        "platform",
        "source",
        "kind",
        "status",
        "model_version",
        "erasure_key",
    }
)


def export_customer(
    session: so.Session, customer: CustomerRow, cfg: CustomersConfig, *, actor: str
) -> dict[str, Any]:
    """Everything held on a person, as one JSON-ready document; the export is audited."""
    document = customer_export(session, customer, cfg)
    audit(
        session,
        actor,
        "customer_exported",
        f"customer:{customer.id}",
        {"mentions": len(document["mentions"]), "identities": len(document["identities"])},
    )
    return document


def _texts_of(row: MentionRow) -> list[str]:
    """A post's text, and where a post opens with its title (Reddit) the title alone: replies quote it."""
    texts = [row.text]
    if get_platform(row.platform).title_leads_text and row.kind == "post":
        texts.append(row.text.split("\n\n", 1)[0])
    return texts


def _needles(values: Iterable[str | None]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        text = (value or "").strip()
        if len(text) >= MIN_NEEDLE and text != FORGOTTEN:
            seen.setdefault(text.casefold(), text)
    return sorted(seen.values(), key=len, reverse=True)  # longest first: a text before a handle in it


def _pattern(needles: list[str]) -> re.Pattern[str]:
    parts = []
    for needle in needles:
        left = r"(?<!\w)" if re.match(r"\w", needle) else ""
        right = r"(?!\w)" if re.search(r"\w$", needle) else ""
        parts.append(f"{left}{re.escape(needle)}{right}")
    return re.compile("|".join(parts), re.IGNORECASE)


def _redact(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(FORGOTTEN, value)
    if isinstance(value, dict):
        return {_redact(k, pattern): _redact(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, pattern) for v in value]
    return value


def scrub_everywhere(session: so.Session, needles: list[str]) -> int:
    """Redact every occurrence of `needles` in every text and JSON column; return the rows changed.

    The database finds candidate rows (a case-insensitive substring match, also against the
    \\u-escaped form JSON columns store); Python then redacts whole words only.
    """
    if not needles:
        return 0
    session.flush()
    pattern = _pattern(needles)
    lowered = {n.lower() for n in needles}
    escaped = lowered | {json.dumps(n)[1:-1].lower() for n in needles}
    changed = 0
    for table in Base.metadata.sorted_tables:
        (key,) = table.primary_key.columns
        for column in table.columns:
            if column.name in ID_COLUMNS or column.primary_key or column.foreign_keys:
                continue
            if isinstance(column.type, sa.JSON):
                expr: sa.ColumnElement[str] = sa.func.lower(sa.cast(column, sa.Text))
                terms = escaped
            elif isinstance(column.type, sa.String):
                expr, terms = sa.func.lower(column), lowered
            else:
                continue
            found = session.execute(
                sa.select(key, column).where(
                    sa.or_(*(expr.contains(t, autoescape=True) for t in sorted(terms)))
                )
            ).all()
            for pk, value in found:
                redacted = _redact(value, pattern)
                if redacted != value:
                    session.execute(sa.update(table).where(key == pk).values({column.name: redacted}))
                    changed += 1
    return changed


def forget_customer(session: so.Session, customer_id: int, *, actor: str) -> dict[str, int]:
    """Erase a person: profile, accounts, post text, payloads and every quote of them elsewhere.

    Counts survive: the customer row stays as an anonymous, forgotten marker (so `hark status`
    and reports add up), mentions keep their labels, cases and leads stay. Re-importing their CRM
    record is refused (the CRM id is kept only as a hash). Idempotent.
    """
    customer = session.get(CustomerRow, customer_id)
    if customer is None:
        raise CustomerNotFoundError(f"no customer {customer_id}")
    if customer.forgotten_at is not None:
        return {"mentions": 0, "identities": 0, "replies": 0, "elsewhere": 0}
    now = datetime.now(UTC)
    identities = session.scalars(sa.select(IdentityRow).where(IdentityRow.customer_id == customer_id)).all()
    accounts = [(i.platform, i.platform_user_id) for i in identities if i.platform_user_id]
    mine = sa.or_(
        MentionRow.customer_id == customer_id,
        *(sa.and_(MentionRow.platform == p, MentionRow.author_user_id == u) for p, u in accounts),
    )
    mentions = session.scalars(sa.select(MentionRow).where(mine)).all()
    needles = _needles(
        [customer.name, customer.email, customer.phone, customer.external_crm_id]
        + [
            v
            for i in identities
            for v in (i.handle, i.platform_user_id, i.display_name, i.bio, i.profile_url)
        ]
        + [
            v
            for m in mentions
            for v in (m.author_handle, m.author_user_id, m.author_name, m.author_url, m.url)
        ]
        + [m.author_description for m in mentions]
        + [t for m in mentions if m.erased_at is None for t in _texts_of(m)]
    )
    mention_ids = [m.id for m in mentions]
    for row in mentions:
        row.text, row.url, row.raw = "", "", {}
        row.author_handle = row.author_user_id = FORGOTTEN
        row.author_name = row.author_description = row.author_url = None
        row.author_followers, row.author_verified = None, False
        row.identity_id = None
        row.erased_at = row.erased_at or now
    replies = 0
    if mention_ids:
        result = session.execute(
            sa.update(ReplyRow).where(ReplyRow.mention_id.in_(mention_ids)).values(text="", error=None)
        )
        replies = int(result.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult
        # an embedding is derived from the text: it goes with it
        session.execute(sa.delete(MentionVectorRow).where(MentionVectorRow.mention_id.in_(mention_ids)))
    identity_ids = [i.id for i in identities]
    session.execute(
        sa.delete(LinkSuggestionRow).where(
            sa.or_(
                LinkSuggestionRow.customer_id == customer_id, LinkSuggestionRow.identity_id.in_(identity_ids)
            )
        )
    )
    session.flush()
    for identity in identities:
        session.delete(identity)
    if customer.external_crm_id:
        customer.erasure_key = erasure_key(customer.external_crm_id)
    for name in ("name", "email", "phone", "segment", "tier", "lifetime_value", "external_crm_id"):
        setattr(customer, name, None)
    customer.name_key = customer.email_domain = None
    customer.forgotten_at = customer.updated_at = now
    session.flush()
    elsewhere = scrub_everywhere(session, needles)
    reshow_cards(session, mention_ids)  # their Slack cards lose the text too, at the next refresh
    counts = {
        "mentions": len(mentions),
        "identities": len(identities),
        "replies": replies,
        "elsewhere": elsewhere,
    }
    audit(session, actor, "customer_forgotten", f"customer:{customer_id}", dict(counts))
    log.info("customer_forgotten customer=%d mentions=%d", customer_id, len(mentions))
    return counts


def forget_mention(session: so.Session, platform: str, external_id: str, *, actor: str = "listener") -> bool:
    """Remove a post that was deleted on its platform; False if Hark never stored it.

    Listeners call this when they learn of a deletion. The text, link and payload go, and so do
    quotes of it elsewhere (a Reddit comment's payload carries its post's title); the mention row
    stays, with its labels, so counts and reports stay right. Calling it again changes nothing.
    """
    row = session.scalar(
        sa.select(MentionRow).where(MentionRow.platform == platform, MentionRow.external_id == external_id)
    )
    if row is None:
        return False
    if row.erased_at is not None:
        return True
    needles = _needles(_texts_of(row))
    row.text, row.url, row.raw, row.erased_at = "", "", {}, datetime.now(UTC)
    session.execute(sa.delete(MentionVectorRow).where(MentionVectorRow.mention_id == row.id))
    session.flush()
    scrub_everywhere(session, needles)
    reshow_cards(session, [row.id])
    audit(session, actor, "mention_deleted_upstream", f"mention:{row.id}", {"platform": platform})
    log.info("mention_erased platform=%s external_id=%s", platform, external_id)
    return True
