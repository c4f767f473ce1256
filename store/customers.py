"""Customers: resolve authors to them, find the one a person means, and the keys they compare by."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.errors import ConfigError, HarkError, UsageError
from hark.handles import handle_key
from hark.records import Author
from platforms.registry import PLATFORMS, split_handle_ref
from store.models import AuditLogRow, CustomerRow, IdentityRow

FORGOTTEN = "[forgotten]"  # stands in for erased handles, user ids and names


class CustomerNotFoundError(HarkError, LookupError):
    """No customer matches the reference a person typed."""


class MergeError(HarkError):
    """Two customers cannot be merged (the same one, a forgotten one, or two CRM records)."""


class CustomerFileError(ConfigError):
    """The CRM file as a whole is unusable; nothing of it was applied."""


# --- keys -------------------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """Names compare without case, accents or punctuation: "Lucía  Fernández!" == "lucia fernandez"."""
    folded = unicodedata.normalize("NFKD", name)
    letters = "".join(c if c.isalnum() else " " for c in folded if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


def email_domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1].lower() if email and "@" in email else None


def erasure_key(external_crm_id: str) -> str:
    return hashlib.sha256(external_crm_id.encode("utf-8")).hexdigest()


def audit(session: so.Session, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
    """Record who did what; detail holds ids and counts, never post text or handles."""
    session.add(AuditLogRow(at=datetime.now(UTC), actor=actor, action=action, subject=subject, detail=detail))


# --- identity resolution ----------------------------------------------------------------------------


def resolve_identity(
    session: so.Session, author: Author, *, bio: str | None = None, profile_url: str | None = None
) -> IdentityRow:
    """Find or create the identity of an author, and its customer.

    The platform user id decides (a renamed X account keeps its customer); an imported handle
    with no user id yet is claimed by the first author who posts under it. The profile (name, bio,
    link) is refreshed from what the platform sent last.
    """
    now = datetime.now(UTC)
    identity = session.scalar(
        sa.select(IdentityRow).where(
            IdentityRow.platform == author.platform, IdentityRow.platform_user_id == author.user_id
        )
    )
    if identity is None:
        identity = session.scalar(
            sa.select(IdentityRow)
            .where(
                IdentityRow.platform == author.platform,
                IdentityRow.platform_user_id.is_(None),
                IdentityRow.handle_key == handle_key(author.handle),
            )
            .order_by(IdentityRow.id)
            .limit(1)
        )
    if identity is None:
        name = author.display_name or author.handle
        customer = CustomerRow(name=name, name_key=name_key(name), created_at=now, updated_at=now)
        session.add(customer)
        session.flush()
        identity = IdentityRow(
            platform=author.platform,
            handle=author.handle,
            handle_key=handle_key(author.handle),
            customer_id=customer.id,
            created_at=now,
            updated_at=now,
        )
        session.add(identity)
    identity.platform_user_id = author.user_id
    identity.handle = author.handle
    identity.handle_key = handle_key(author.handle)
    identity.display_name = author.display_name or identity.display_name
    identity.followers = author.followers if author.followers is not None else identity.followers
    identity.verified = author.verified
    identity.bio = bio or author.description or identity.bio
    identity.profile_url = profile_url or author.url or identity.profile_url
    identity.updated_at = now
    session.flush()
    return identity


def is_vip(customer: CustomerRow, vip_tiers: Collection[str], vip_min_value: float | None) -> bool:
    if customer.tier and customer.tier.lower() in {t.lower() for t in vip_tiers}:
        return True
    return vip_min_value is not None and (customer.lifetime_value or 0.0) >= vip_min_value


def vip_clause(vip_tiers: Collection[str], vip_min_value: float | None) -> sa.ColumnElement[bool]:
    """is_vip as SQL, for aggregates over many customers (a forgotten customer has no tier or value)."""
    clauses: list[sa.ColumnElement[bool]] = []
    if vip_tiers:
        clauses.append(sa.func.lower(CustomerRow.tier).in_([t.lower() for t in vip_tiers]))
    if vip_min_value is not None:
        clauses.append(CustomerRow.lifetime_value >= vip_min_value)
    return sa.or_(*clauses) if clauses else sa.false()


def find_customer(session: so.Session, ref: str) -> CustomerRow:
    """The customer a person means by `42`, a handle as its platform writes it (`@handle`, `u/name`) or as
    `platform:handle`, a CRM id or `crm:ID`.

    Raises CustomerNotFoundError, naming the survivor when the id was merged away.
    """
    ref = ref.strip()
    customer: CustomerRow | None = None
    if ref.startswith("crm:"):  # for CRM ids that look like Hark ids
        customer = session.scalar(sa.select(CustomerRow).where(CustomerRow.external_crm_id == ref[4:]))
    elif ref.isdigit():
        customer = session.get(CustomerRow, int(ref))
        if customer is None:
            survivor = merged_into(session, int(ref))
            if survivor is not None:
                raise CustomerNotFoundError(f"customer {ref} was merged into customer {survivor}")
    elif split_handle_ref(ref) is not None:
        identity = find_identity(session, ref)
        customer = session.get(CustomerRow, identity.customer_id)
    else:
        customer = session.scalar(sa.select(CustomerRow).where(CustomerRow.external_crm_id == ref))
    if customer is None:
        forms = ", ".join(f"{p.display_handle('name')} ({p.title})" for p in PLATFORMS.values())
        raise CustomerNotFoundError(f"no customer {ref!r}: use an id, {forms}, platform:name or CRM id")
    return customer


def find_identity(session: so.Session, ref: str) -> IdentityRow:
    """`@handle` or `x:handle` is an X account, `u/name` or `reddit:name` a Reddit one, and so on."""
    found = split_handle_ref(ref.strip())
    if found is None:  # a usage error, not a missing account: Hark does not guess the platform
        raise UsageError(
            f"{ref!r} is not an account: write it as its platform does (@name, u/name) or platform:name"
        )
    spec, bare = found
    platform, key = spec.name, handle_key(bare)
    identity = session.scalar(
        sa.select(IdentityRow)
        .where(IdentityRow.platform == platform, IdentityRow.handle_key == key)
        .order_by(IdentityRow.platform_user_id.is_(None), IdentityRow.id)  # a seen account first
        .limit(1)
    )
    if identity is None:
        raise CustomerNotFoundError(f"no {platform} account {ref!r} is known")
    return identity


def merged_into(session: so.Session, customer_id: int) -> int | None:
    """The customer that absorbed `customer_id` (following chains of merges), if any."""
    trail = {
        int(detail["merged"]): int(subject.removeprefix("customer:"))
        for subject, detail in session.execute(
            sa.select(AuditLogRow.subject, AuditLogRow.detail).where(AuditLogRow.action == "customers_merged")
        )
        if isinstance(detail, dict) and "merged" in detail
    }
    found = None
    while customer_id in trail and customer_id != found:
        found = customer_id = trail[customer_id]
    return found


def merged_ids(session: so.Session, customer_id: int) -> set[int]:
    """`customer_id` and every customer merged into it, directly or through others."""
    absorbed: dict[int, list[int]] = {}
    for subject, detail in session.execute(
        sa.select(AuditLogRow.subject, AuditLogRow.detail).where(AuditLogRow.action == "customers_merged")
    ):
        if isinstance(detail, dict) and "merged" in detail:
            absorbed.setdefault(int(subject.removeprefix("customer:")), []).append(int(detail["merged"]))
    found, todo = {customer_id}, [customer_id]
    while todo:
        for other in absorbed.get(todo.pop(), ()):
            if other not in found:
                found.add(other)
                todo.append(other)
    return found
