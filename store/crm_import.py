"""Import CRM customers from a CSV export: bad rows are rejected by line, a bad file as a whole."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.handles import handle_key
from platforms.registry import PLATFORMS
from store.customers import CustomerFileError, audit, email_domain, erasure_key, name_key
from store.merges import merge_customers
from store.models import CustomerRow, IdentityRow

CSV_COLUMNS = (
    "name",
    "email",
    "phone",
    "segment",
    "tier",
    "lifetime_value",
    "external_crm_id",
    *(platform.crm_column for platform in PLATFORMS.values()),  # x_handle, reddit_username, ...
)
REQUIRED_COLUMNS = ("name", "email", "external_crm_id")
FIELD_LIMITS = {"name": 200, "email": 320, "phone": 50, "segment": 50, "tier": 50, "external_crm_id": 100}
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
CHUNK = 500  # ids per IN (...) list, well below every driver's parameter limit
DEFAULT_MAX_REJECTED = 0.10


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    applied: bool = True  # False for a dry run

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [{"line": line, "reason": reason} for line, reason in self.rejected],
            "applied": self.applied,
        }


@dataclass
class _Row:
    line: int
    crm_id: str
    fields: dict[str, Any]
    handles: list[tuple[str, str]]  # (platform, handle as written without @ or u/)


def _read_rows(path: Path) -> tuple[list[tuple[int, list[str]]], list[str]]:
    """Raw rows with their first line number, and the header. Raises CustomerFileError."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:  # -sig: Excel writes a BOM
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            rows: list[tuple[int, list[str]]] = []
            line = reader.line_num + 1
            for record in reader:
                if record:  # a blank line is not a row
                    rows.append((line, record))
                line = reader.line_num + 1
    except OSError as err:
        raise CustomerFileError(f"cannot read customers file {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise CustomerFileError(
            f"customers file {path} is not UTF-8: {err.reason} at byte {err.start}"
        ) from err
    except csv.Error as err:
        raise CustomerFileError(f"customers file {path} line {line} is not valid CSV: {err}") from err
    if header is None:
        raise CustomerFileError(f"customers file {path} is empty: it needs a header row")
    columns = [c.strip().lower() for c in header]
    problems = []
    if missing := [c for c in REQUIRED_COLUMNS if c not in columns]:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown := [c for c in columns if c not in CSV_COLUMNS]:
        problems.append(f"unknown columns: {', '.join(unknown)} (expected some of {', '.join(CSV_COLUMNS)})")
    if repeated := sorted({c for c in columns if columns.count(c) > 1}):
        problems.append(f"repeated columns: {', '.join(repeated)}")
    if problems:
        raise CustomerFileError(f"customers file {path}: {'; '.join(problems)}")
    return rows, columns


def _parse_row(line: int, record: list[str], columns: list[str]) -> _Row | str:  # noqa: PLR0911  # one return per reason
    """A valid row, or the reason it is rejected."""
    if len(record) != len(columns):
        return f"expected {len(columns)} fields, found {len(record)}"
    raw = {c: v.strip() for c, v in zip(columns, record, strict=True)}
    for column, limit in FIELD_LIMITS.items():
        if len(raw.get(column, "")) > limit:
            return f"{column} is longer than {limit} characters"
    crm_id = raw["external_crm_id"]
    if not crm_id:
        return "external_crm_id is empty"
    email = raw.get("email", "").lower() or None
    if email is not None and not EMAIL.fullmatch(email):
        return f"email {raw['email']!r} is not an email address"
    value_text = raw.get("lifetime_value", "").replace(",", "")
    try:
        value = float(value_text) if value_text else None
    except ValueError:
        return f"lifetime_value {raw['lifetime_value']!r} is not a number"
    if value is not None and (not math.isfinite(value) or value < 0):
        return f"lifetime_value {raw['lifetime_value']!r} is not a positive amount"
    handles = []
    for platform in PLATFORMS.values():
        written = raw.get(platform.crm_column, "")
        bare = platform.bare_handle(written) if written else ""
        if bare and not platform.handle_pattern.fullmatch(bare):
            return f"{platform.crm_column} {written!r} is not a valid {platform.name} handle"
        if bare:
            handles.append((platform.name, bare))
    name = raw.get("name") or None
    fields = {
        "name": name,
        "email": email,
        "phone": raw.get("phone") or None,
        "segment": raw.get("segment") or None,
        "tier": raw.get("tier") or None,
        "lifetime_value": value,
        "name_key": name_key(name) if name else None,
        "email_domain": email_domain(email),
    }
    return _Row(line, crm_id, fields, handles)


def import_customers_csv(
    session: so.Session,
    path: Path,
    *,
    max_rejected: float = DEFAULT_MAX_REJECTED,
    actor: str = "import",
) -> ImportResult:
    """Upsert CRM customers by external CRM id, with their known handles; idempotent.

    A bad row (wrong field count, empty CRM id, bad email, value or handle, a CRM id or handle
    repeated in the file, a handle that belongs to another CRM customer, a forgotten customer) is
    rejected with its line number and the rest is applied. A bad file (unreadable, not UTF-8,
    broken CSV quoting, missing/unknown/repeated columns, or more than `max_rejected` of its rows
    rejected) raises CustomerFileError before anything is written. The caller's transaction makes
    the import all or nothing.
    """
    records, columns = _read_rows(path)
    result = ImportResult(rows=len(records))
    rows: list[_Row] = []
    seen_crm: dict[str, int] = {}
    seen_handle: dict[tuple[str, str], int] = {}
    for line, record in records:
        parsed = _parse_row(line, record, columns)
        if isinstance(parsed, str):
            result.rejected.append((line, parsed))
            continue
        if parsed.crm_id in seen_crm:
            result.rejected.append(
                (line, f"external_crm_id {parsed.crm_id} repeats line {seen_crm[parsed.crm_id]}")
            )
            continue
        clash = next(
            (
                f"{platform} handle {h} is also on line {seen_handle[(platform, handle_key(h))]}"
                for platform, h in parsed.handles
                if (platform, handle_key(h)) in seen_handle
            ),
            None,
        )
        if clash is not None:
            result.rejected.append((line, clash))
            continue
        seen_crm[parsed.crm_id] = line
        for platform, handle in parsed.handles:
            seen_handle[(platform, handle_key(handle))] = line
        rows.append(parsed)
    rows = _check_against_store(session, rows, result)
    if records and len(result.rejected) > max_rejected * len(records):
        raise CustomerFileError(
            f"customers file {path}: {len(result.rejected)} of {len(records)} rows are bad "
            f"(more than {max_rejected:.0%}); nothing was imported. First: line "
            f"{result.rejected[0][0]}: {result.rejected[0][1]}"
        )
    _apply(session, rows, result)
    result.rejected.sort()
    if result.created or result.updated:
        audit(
            session,
            actor,
            "customers_imported",
            f"file:{path.name}",
            {k: v for k, v in result.as_dict().items() if k != "rejected"}
            | {"rejected": len(result.rejected)},
        )
    return result


def _check_against_store(session: so.Session, rows: list[_Row], result: ImportResult) -> list[_Row]:
    """Reject rows of forgotten customers and rows claiming a handle another CRM customer holds."""
    erased: set[str] = set()
    keys = {erasure_key(r.crm_id): r.crm_id for r in rows}
    for chunk in _chunks(sorted(keys)):
        hits = session.scalars(sa.select(CustomerRow.erasure_key).where(CustomerRow.erasure_key.in_(chunk)))
        erased.update(keys[k] for k in hits if k is not None)
    owners = _handle_owners(session, rows)
    good = []
    for row in rows:
        if row.crm_id in erased:
            result.rejected.append(
                (row.line, f"customer {row.crm_id} asked to be forgotten; remove them from the CRM export")
            )
            continue
        taken = next(
            (
                (handle, owner)
                for platform, handle in row.handles
                for owner in [owners.get((platform, handle_key(handle)))]
                if owner is not None and owner != row.crm_id
            ),
            None,
        )
        if taken is not None:
            result.rejected.append((row.line, f"handle {taken[0]} belongs to customer {taken[1]}"))
            continue
        good.append(row)
    return good


def _handle_owners(session: so.Session, rows: Iterable[_Row]) -> dict[tuple[str, str], str]:
    """CRM id of the customer holding each handle of the file, for handles a CRM customer holds."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        for platform, handle in row.handles:
            wanted.setdefault(platform, set()).add(handle_key(handle))
    owners: dict[tuple[str, str], str] = {}
    for platform, keys in wanted.items():
        for chunk in _chunks(sorted(keys)):
            for key, crm_id in session.execute(
                sa.select(IdentityRow.handle_key, CustomerRow.external_crm_id)
                .join(CustomerRow, CustomerRow.id == IdentityRow.customer_id)
                .where(
                    IdentityRow.platform == platform,
                    IdentityRow.handle_key.in_(chunk),
                    CustomerRow.external_crm_id.is_not(None),
                )
            ):
                owners[(platform, key)] = crm_id
    return owners


def _apply(session: so.Session, rows: list[_Row], result: ImportResult) -> None:
    now = datetime.now(UTC)
    existing: dict[str, CustomerRow] = {}
    crm_ids = [r.crm_id for r in rows]
    for chunk in _chunks(crm_ids):
        for customer in session.scalars(sa.select(CustomerRow).where(CustomerRow.external_crm_id.in_(chunk))):
            existing[customer.external_crm_id or ""] = customer
    status: dict[int, str] = {}
    new_customers: list[CustomerRow] = []
    for row in rows:
        found = existing.get(row.crm_id)
        if found is None:
            created = CustomerRow(external_crm_id=row.crm_id, created_at=now, updated_at=now, **row.fields)
            new_customers.append(created)
            existing[row.crm_id] = created
            status[row.line] = "created"
        elif any(getattr(found, k) != v for k, v in row.fields.items()):
            for key, val in row.fields.items():
                setattr(found, key, val)
            found.updated_at = now
            status[row.line] = "updated"
        else:
            status[row.line] = "unchanged"
    session.add_all(new_customers)
    session.flush()
    for line in _attach_handles(session, rows, existing, now):
        if status[line] == "unchanged":
            status[line] = "updated"
    for value in status.values():
        setattr(result, value, getattr(result, value) + 1)


def _attach_handles(
    session: so.Session, rows: list[_Row], customers: dict[str, CustomerRow], now: datetime
) -> set[int]:
    """Give each CRM customer the handles its row names; return the lines whose handles changed."""
    identities: dict[tuple[str, str], list[IdentityRow]] = {}
    for platform in PLATFORMS:
        keys = sorted({handle_key(h) for r in rows for p, h in r.handles if p == platform})
        for chunk in _chunks(keys):
            for identity in session.scalars(
                sa.select(IdentityRow)
                .where(IdentityRow.platform == platform, IdentityRow.handle_key.in_(chunk))
                .order_by(IdentityRow.id)
            ):
                identities.setdefault((platform, identity.handle_key), []).append(identity)
    changed: set[int] = set()
    new_identities = []
    absorb: list[tuple[int, int]] = []  # (CRM customer, anonymous customer that already posted)
    for row in rows:
        customer = customers[row.crm_id]
        for platform, handle in row.handles:
            found = identities.get((platform, handle_key(handle)), [])
            if any(i.customer_id == customer.id for i in found):
                continue
            changed.add(row.line)
            if found:  # the author posted before the import: their anonymous customer joins the CRM record
                absorb.extend((customer.id, i.customer_id) for i in found)
                continue
            new_identities.append(
                IdentityRow(
                    platform=platform,
                    handle=handle,
                    handle_key=handle_key(handle),
                    customer_id=customer.id,
                    created_at=now,
                    updated_at=now,
                )
            )
    session.add_all(new_identities)
    session.flush()
    for keep_id, other_id in dict.fromkeys(absorb):
        if other_id != keep_id and session.get(CustomerRow, other_id) is not None:
            merge_customers(session, keep_id, other_id, actor="import")
    return changed
