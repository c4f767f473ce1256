"""Leads: buying signals on a customer, for the sales team's CRM."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.errors import HarkError
from hark.phrases import find_phrase
from platforms.registry import get_platform
from store.customers import audit
from store.models import CustomerRow, IdentityRow, LeadRow, MentionRow

LEAD_STATUSES = ("new", "contacted", "won", "lost")
OPEN_STATUSES = ("new", "contacted")
EXPORT_COLUMNS = (
    "lead_id",
    "status",
    "score",
    "product_interest",
    "signals",
    "customer_id",
    "customer_name",
    "email",
    "phone",
    "external_crm_id",
    "tier",
    "handles",
    "source_platform",
    "source_url",
    "source_text",
    "created_at",
    "updated_at",
)


class LeadError(HarkError):
    """A lead does not exist or cannot take that status."""


def products_named(text: str, products: Sequence[str]) -> list[str]:
    """The configured products a post names, in the order it names them."""
    found = []
    for product in products:
        match = find_phrase(text, product)
        if match:
            found.append((match.start(), product))
    return [product for _, product in sorted(found)]


def record_buying_signal(
    session: so.Session, customer_id: int, mention_id: int, score: float, products: Sequence[str]
) -> LeadRow:
    """One open lead per customer: a new buying signal raises its score and adds products.

    The lead keeps the mention that opened it as its source; a won or lost lead is closed, so a
    new signal opens a new lead.
    """
    now = datetime.now(UTC)
    lead = session.scalar(
        sa.select(LeadRow)
        .where(LeadRow.customer_id == customer_id, LeadRow.status.in_(OPEN_STATUSES))
        .order_by(LeadRow.id)
        .limit(1)
    )
    if lead is None:
        lead = LeadRow(
            customer_id=customer_id,
            mention_id=mention_id,
            last_mention_id=mention_id,
            score=round(score, 4),
            product_interest=", ".join(products) or None,
            status="new",
            signals=1,
            created_at=now,
            updated_at=now,
        )
        session.add(lead)
    elif lead.last_mention_id != mention_id:  # the same mention linked twice is one signal
        known = [p for p in (lead.product_interest or "").split(", ") if p]
        lead.product_interest = ", ".join(known + [p for p in products if p not in known])[:200] or None
        lead.score = round(max(lead.score, score), 4)
        lead.signals += 1
        lead.last_mention_id = mention_id
        lead.updated_at = now
    session.flush()
    return lead


def set_lead_status(session: so.Session, lead_id: int, status: str, *, actor: str) -> LeadRow:
    """Move a lead along new -> contacted -> won/lost (any order: sales may correct a mistake)."""
    if status not in LEAD_STATUSES:
        raise LeadError(f"lead status must be one of {', '.join(LEAD_STATUSES)}, not {status!r}")
    lead = session.get(LeadRow, lead_id)
    if lead is None:
        raise LeadError(f"no lead {lead_id}")
    if lead.status != status:
        audit(
            session,
            actor,
            "lead_status",
            f"customer:{lead.customer_id}",
            {"lead": lead_id, "from": lead.status, "to": status},
        )
        lead.status, lead.updated_at = status, datetime.now(UTC)
        session.flush()
    return lead


def list_leads(session: so.Session, status: str | None = None) -> list[dict[str, Any]]:
    """Leads of customers who were not forgotten, best first, with what sales needs to follow up."""
    stmt = (
        sa.select(LeadRow, CustomerRow, MentionRow)
        .join(CustomerRow, CustomerRow.id == LeadRow.customer_id)
        .outerjoin(MentionRow, MentionRow.id == LeadRow.mention_id)
        .where(CustomerRow.forgotten_at.is_(None))
        .order_by(LeadRow.score.desc(), LeadRow.id)
    )
    if status is not None:
        if status not in LEAD_STATUSES:
            raise LeadError(f"lead status must be one of {', '.join(LEAD_STATUSES)}, not {status!r}")
        stmt = stmt.where(LeadRow.status == status)
    rows = session.execute(stmt).all()
    accounts: dict[int, list[tuple[str, str]]] = {}
    customer_ids = sorted({c.id for _, c, _ in rows})
    if customer_ids:
        for cid, platform, handle in session.execute(
            sa.select(IdentityRow.customer_id, IdentityRow.platform, IdentityRow.handle)
            .where(IdentityRow.customer_id.in_(customer_ids))
            .order_by(IdentityRow.platform, IdentityRow.id)
        ):
            accounts.setdefault(cid, []).append((platform, handle))
    return [
        {
            "lead_id": lead.id,
            "status": lead.status,
            "score": lead.score,
            "product_interest": lead.product_interest,
            "signals": lead.signals,
            "customer_id": customer.id,
            "customer_name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "external_crm_id": customer.external_crm_id,
            "tier": customer.tier,
            "handles": [get_platform(p).display_handle(h) for p, h in accounts.get(customer.id, [])],
            "accounts": [{"platform": p, "handle": h} for p, h in accounts.get(customer.id, [])],
            "source_mention_id": lead.mention_id,
            "source_platform": mention.platform if mention else None,
            "source_url": mention.url if mention else None,
            "source_text": mention.text if mention else None,
            "created_at": lead.created_at.isoformat(),
            "updated_at": lead.updated_at.isoformat(),
        }
        for lead, customer, mention in rows
    ]


def _cell(value: Any) -> Any:
    """Post text is untrusted: a spreadsheet must not run `=HYPERLINK(...)` from a cell."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_leads_csv(leads: Sequence[dict[str, Any]], path: Path) -> None:
    """Write leads for a CRM import; written to a temporary file first, so a reader never sees half."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for lead in leads:
            # "ann (x); ann_r (reddit)": a cell starting with @ would be a formula to a spreadsheet
            handles = [f"{a['handle']} ({a['platform']})" for a in lead["accounts"]]
            row = lead | {"handles": "; ".join(handles)}
            for key in ("customer_name", "product_interest", "source_text", "handles"):
                row[key] = _cell(row[key])
            writer.writerow(row)
    partial.replace(path)
