"""Merge duplicate customers and link accounts to customers: their mentions, cases and leads move along."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.customers import CustomerNotFoundError, MergeError, audit
from store.models import CaseRow, CustomerRow, IdentityRow, LeadRow, LinkSuggestionRow, MentionRow

log = logging.getLogger(__name__)

CRM_FIELDS = ("name", "email", "phone", "segment", "tier", "lifetime_value", "name_key", "email_domain")


def _rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (session.execute types its result as a plain Result)."""
    return int(result.rowcount or 0)


def merge_customers(session: so.Session, keep_id: int, other_id: int, *, actor: str) -> dict[str, int]:
    """Move everything of `other_id` onto `keep_id` and delete `other_id`; return what moved.

    Identities, mentions (and through them replies and classifications), cases, leads and link
    suggestions move; audit entries stay and are found through the merge's own audit entry. When
    only `other_id` came from the CRM, its CRM record moves to the survivor. Two CRM records are
    not merged here: the next import would split them again, so merge them in the CRM first.
    """
    if keep_id == other_id:
        raise MergeError(f"customer {keep_id} cannot be merged with itself")
    keep, other = session.get(CustomerRow, keep_id), session.get(CustomerRow, other_id)
    for cid, row in ((keep_id, keep), (other_id, other)):
        if row is None:
            raise CustomerNotFoundError(f"no customer {cid}")
        if row.forgotten_at is not None:
            raise MergeError(f"customer {cid} was forgotten")
    assert keep is not None  # noqa: S101  # checked just above
    assert other is not None  # noqa: S101
    if keep.external_crm_id and other.external_crm_id:
        raise MergeError(
            f"customers {keep_id} and {other_id} are both CRM records "
            f"({keep.external_crm_id}, {other.external_crm_id}): merge them in the CRM, then re-import"
        )
    now = datetime.now(UTC)
    moved: dict[str, int] = {}
    for name, column in (
        ("identities", IdentityRow.customer_id),
        ("mentions", MentionRow.customer_id),
        ("cases", CaseRow.customer_id),
        ("leads", LeadRow.customer_id),
    ):
        result = session.execute(
            sa.update(column.class_).where(column == other_id).values(customer_id=keep_id)
        )
        moved[name] = _rowcount(result)
    _move_suggestions(session, other_id, keep_id)
    if other.external_crm_id:
        crm_id = other.external_crm_id
        other.external_crm_id = None
        session.flush()  # the unique CRM id is free before the survivor takes it
        keep.external_crm_id = crm_id
        for key in CRM_FIELDS:
            setattr(keep, key, getattr(other, key))
    else:
        for key in CRM_FIELDS:
            if getattr(keep, key) is None:
                setattr(keep, key, getattr(other, key))
    keep.updated_at = now
    session.delete(other)
    session.flush()
    audit(session, actor, "customers_merged", f"customer:{keep_id}", {"merged": other_id, "moved": moved})
    log.info("customers_merged keep=%d merged=%d", keep_id, other_id)
    return moved


def _move_suggestions(session: so.Session, from_id: int, to_id: int) -> None:
    """Suggestions follow their customer; open ones about accounts the survivor already owns are moot."""
    owned = sa.select(IdentityRow.id).where(IdentityRow.customer_id == to_id)
    session.execute(
        sa.delete(LinkSuggestionRow).where(
            LinkSuggestionRow.customer_id.in_((from_id, to_id)),
            LinkSuggestionRow.identity_id.in_(owned),
            LinkSuggestionRow.status == "open",
        )
    )
    twins = sa.select(LinkSuggestionRow.identity_id).where(LinkSuggestionRow.customer_id == to_id)
    session.execute(
        sa.delete(LinkSuggestionRow).where(
            LinkSuggestionRow.customer_id == from_id, LinkSuggestionRow.identity_id.in_(twins)
        )
    )
    session.execute(
        sa.update(LinkSuggestionRow).where(LinkSuggestionRow.customer_id == from_id).values(customer_id=to_id)
    )


def link_identity(session: so.Session, identity_id: int, customer_id: int, *, actor: str) -> dict[str, int]:
    """Make an account belong to a customer, with its mentions and the cases and leads they opened.

    When the account's old customer was anonymous and is left with no account, it is merged into
    the new one, so nothing it held is lost.
    """
    identity = session.get(IdentityRow, identity_id)
    target = session.get(CustomerRow, customer_id)
    if identity is None:
        raise CustomerNotFoundError(f"no identity {identity_id}")
    if target is None or target.forgotten_at is not None:
        raise CustomerNotFoundError(f"no customer {customer_id}")
    old_id = identity.customer_id
    moved = {"identities": 0, "mentions": 0, "cases": 0, "leads": 0}
    if old_id != customer_id:
        mention_ids = sa.select(MentionRow.id).where(MentionRow.identity_id == identity_id)
        case_ids = sa.select(MentionRow.case_id).where(
            MentionRow.identity_id == identity_id, MentionRow.case_id.is_not(None)
        )
        counts = [
            session.execute(
                sa.update(CaseRow)
                .where(CaseRow.id.in_(case_ids), CaseRow.customer_id == old_id)
                .values(customer_id=customer_id)
            ),
            session.execute(
                sa.update(LeadRow)
                .where(LeadRow.mention_id.in_(mention_ids), LeadRow.customer_id == old_id)
                .values(customer_id=customer_id)
            ),
            session.execute(
                sa.update(MentionRow)
                .where(MentionRow.identity_id == identity_id)
                .values(customer_id=customer_id)
            ),
        ]
        moved["cases"], moved["leads"], moved["mentions"] = (_rowcount(r) for r in counts)
        identity.customer_id = customer_id
        identity.updated_at = datetime.now(UTC)
        moved["identities"] = 1
        session.flush()
    session.execute(
        sa.update(LinkSuggestionRow)
        .where(
            LinkSuggestionRow.identity_id == identity_id,
            LinkSuggestionRow.customer_id == customer_id,
            LinkSuggestionRow.status == "open",
        )
        .values(status="accepted", decided_at=datetime.now(UTC), decided_by=actor)
    )
    audit(
        session,
        actor,
        "identity_linked",
        f"customer:{customer_id}",
        {"identity": identity_id, "from_customer": old_id, "moved": moved},
    )
    old = session.get(CustomerRow, old_id)
    if (
        old_id != customer_id
        and old is not None
        and old.external_crm_id is None
        and session.scalar(sa.select(IdentityRow.id).where(IdentityRow.customer_id == old_id).limit(1))
        is None
    ):
        merge_customers(session, customer_id, old_id, actor=actor)
    return moved
