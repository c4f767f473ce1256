"""Resolve authors to customers, and import customer records from a CRM export."""

from __future__ import annotations

import csv
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.errors import ConfigError
from hark.records import Author
from store.models import CaseRow, CustomerRow, IdentityRow, LeadRow, MentionRow

CSV_COLUMNS = (
    "name",
    "email",
    "phone",
    "segment",
    "tier",
    "lifetime_value",
    "external_crm_id",
    "x_handle",
    "reddit_username",
)


def handle_key(handle: str) -> str:
    """Handles compare without case and without the @ or u/ people type in front."""
    key = handle.strip().lower()
    for prefix in ("@", "/u/", "u/"):
        key = key.removeprefix(prefix)
    return key


def resolve_identity(session: so.Session, author: Author) -> IdentityRow:
    """Find or create the identity of an author, and its customer.

    The platform user id decides (a renamed X account keeps its customer); an imported handle
    with no user id yet is claimed by the first author who posts under it.
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
            .limit(1)
        )
    if identity is None:
        customer = CustomerRow(name=author.display_name or author.handle, created_at=now, updated_at=now)
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
    identity.updated_at = now
    session.flush()
    return identity


def is_vip(customer: CustomerRow, vip_tiers: Collection[str], vip_min_value: float | None) -> bool:
    if customer.tier and customer.tier.lower() in {t.lower() for t in vip_tiers}:
        return True
    return vip_min_value is not None and (customer.lifetime_value or 0.0) >= vip_min_value


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def _parse_value(raw: str) -> float | None:
    raw = raw.strip().replace(",", "")
    return float(raw) if raw else None


def import_customers_csv(session: so.Session, path: Path) -> ImportResult:
    """Upsert customers by external CRM id, with their known handles; bad rows are reported, not applied."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise ConfigError(f"{path}: missing columns: {', '.join(missing)}")
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ConfigError(f"cannot read customers file {path}: {err}") from err
    result = ImportResult()
    now = datetime.now(UTC)
    for line, row in rows:
        crm_id = (row.get("external_crm_id") or "").strip()
        if not crm_id:
            result.rejected.append((line, "external_crm_id is empty"))
            continue
        try:
            value = _parse_value(row.get("lifetime_value") or "")
        except ValueError:
            result.rejected.append((line, f"lifetime_value {row.get('lifetime_value')!r} is not a number"))
            continue
        fields = {
            "name": (row.get("name") or "").strip() or None,
            "email": (row.get("email") or "").strip().lower() or None,
            "phone": (row.get("phone") or "").strip() or None,
            "segment": (row.get("segment") or "").strip() or None,
            "tier": (row.get("tier") or "").strip() or None,
            "lifetime_value": value,
        }
        customer = session.scalar(sa.select(CustomerRow).where(CustomerRow.external_crm_id == crm_id))
        if customer is None:
            customer = CustomerRow(external_crm_id=crm_id, created_at=now, updated_at=now, **fields)
            session.add(customer)
            session.flush()
            result.created += 1
        elif any(getattr(customer, k) != v for k, v in fields.items()):
            for key, val in fields.items():
                setattr(customer, key, val)
            customer.updated_at = now
            result.updated += 1
        else:
            result.unchanged += 1
        for platform, column in (("x", "x_handle"), ("reddit", "reddit_username")):
            raw_handle = (row.get(column) or "").strip()
            if raw_handle:
                _attach_handle(session, customer, platform, raw_handle, now)
    return result


def _attach_handle(
    session: so.Session, customer: CustomerRow, platform: str, handle: str, now: datetime
) -> None:
    key = handle_key(handle)
    identity = session.scalar(
        sa.select(IdentityRow).where(IdentityRow.platform == platform, IdentityRow.handle_key == key).limit(1)
    )
    if identity is None:
        session.add(
            IdentityRow(
                platform=platform,
                handle=handle.lstrip("@").removeprefix("u/"),
                handle_key=key,
                customer_id=customer.id,
                created_at=now,
                updated_at=now,
            )
        )
    elif identity.customer_id != customer.id:
        # the author posted before the import created an anonymous customer; the CRM record wins,
        # and the interactions of that identity move with it
        mention_ids = sa.select(MentionRow.id).where(MentionRow.identity_id == identity.id)
        session.execute(
            sa.update(MentionRow).where(MentionRow.identity_id == identity.id).values(customer_id=customer.id)
        )
        session.execute(
            sa.update(CaseRow)
            .where(CaseRow.id.in_(sa.select(MentionRow.case_id).where(MentionRow.identity_id == identity.id)))
            .values(customer_id=customer.id)
        )
        session.execute(
            sa.update(LeadRow).where(LeadRow.mention_id.in_(mention_ids)).values(customer_id=customer.id)
        )
        identity.customer_id = customer.id
        identity.updated_at = now
    session.flush()
