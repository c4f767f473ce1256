"""Customers: resolve authors to them, import CRM records, suggest and make links, merge duplicates."""

from __future__ import annotations

import csv
import hashlib
import logging
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so

from hark.errors import ConfigError, HarkError
from hark.records import Author
from store.models import (
    AuditLogRow,
    CaseRow,
    CustomerRow,
    IdentityRow,
    LeadRow,
    LinkSuggestionRow,
    MentionRow,
)

log = logging.getLogger(__name__)

FORGOTTEN = "[forgotten]"  # stands in for erased handles, user ids and names
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
REQUIRED_COLUMNS = ("name", "email", "external_crm_id")
FIELD_LIMITS = {"name": 200, "email": 320, "phone": 50, "segment": 50, "tier": 50, "external_crm_id": 100}
HANDLE_COLUMNS = (("x", "x_handle"), ("reddit", "reddit_username"))
HANDLE_PATTERNS = {"x": re.compile(r"[A-Za-z0-9_]{1,15}"), "reddit": re.compile(r"[A-Za-z0-9_-]{3,20}")}
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
CHUNK = 500  # ids per IN (...) list, well below every driver's parameter limit
DEFAULT_MAX_REJECTED = 0.10


class CustomerNotFoundError(HarkError, LookupError):
    """No customer matches the reference a person typed."""


class MergeError(HarkError):
    """Two customers cannot be merged (the same one, a forgotten one, or two CRM records)."""


class CustomerFileError(ConfigError):
    """The CRM file as a whole is unusable; nothing of it was applied."""


# --- keys -------------------------------------------------------------------------------------------


def handle_key(handle: str) -> str:
    """Handles compare without case and without the @ or u/ people type in front."""
    key = handle.strip().lower()
    for prefix in ("@", "/u/", "u/"):
        key = key.removeprefix(prefix)
    return key


def name_key(name: str) -> str:
    """Names compare without case, accents or punctuation: "Lucía  Fernández!" == "lucia fernandez"."""
    folded = unicodedata.normalize("NFKD", name)
    letters = "".join(c if c.isalnum() else " " for c in folded if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


def email_domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1].lower() if email and "@" in email else None


def erasure_key(external_crm_id: str) -> str:
    return hashlib.sha256(external_crm_id.encode("utf-8")).hexdigest()


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (session.execute types its result as a plain Result)."""
    return int(result.rowcount or 0)


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


def find_customer(session: so.Session, ref: str) -> CustomerRow:
    """The customer a person means by `42`, `@handle` (X), `u/name` (Reddit), a CRM id or `crm:ID`.

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
    elif ref.startswith(("@", "u/", "/u/", "x:", "reddit:")):
        identity = find_identity(session, ref)
        customer = session.get(CustomerRow, identity.customer_id)
    else:
        customer = session.scalar(sa.select(CustomerRow).where(CustomerRow.external_crm_id == ref))
    if customer is None:
        raise CustomerNotFoundError(f"no customer {ref!r}: use an id, @handle (X), u/name (Reddit) or CRM id")
    return customer


def find_identity(session: so.Session, ref: str) -> IdentityRow:
    """`@handle` or `x:handle` is an X account, `u/name` or `reddit:name` a Reddit one."""
    ref = ref.strip()
    platform = "reddit" if ref.startswith(("u/", "/u/", "reddit:")) else "x"
    key = handle_key(ref.removeprefix("reddit:").removeprefix("x:"))
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


# --- merge and link ---------------------------------------------------------------------------------

CRM_FIELDS = ("name", "email", "phone", "segment", "tier", "lifetime_value", "name_key", "email_domain")


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


# --- link suggestions -------------------------------------------------------------------------------

# Shared mail and link hosts say nothing about who someone is.
COMMON_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "aol.com",
        "x.com",
        "twitter.com",
        "t.co",
        "reddit.com",
        "youtube.com",
        "youtu.be",
        "instagram.com",
        "tiktok.com",
        "linktr.ee",
        "github.com",
        "linkedin.com",
        "facebook.com",
    }
)
MAX_DOMAIN_CUSTOMERS = 3  # a domain more customers share is a mail provider, not an employer
DOMAIN_IN_TEXT = re.compile(r"(?:https?://)?(?:[\w-]+\.)+[a-z]{2,}", re.IGNORECASE)


def _domains(text: str) -> set[str]:
    """Every domain a profile names, with its parent domains: shop.acme.example -> acme.example."""
    found: set[str] = set()
    for match in DOMAIN_IN_TEXT.findall(text):
        host = urlsplit(match if "://" in match else f"//{match}").hostname or ""
        labels = host.lower().removeprefix("www.").split(".")
        found.update(".".join(labels[i:]) for i in range(len(labels) - 1))
    return found - COMMON_DOMAINS


def _name_windows(text: str) -> set[str]:
    """Name keys of every run of 2 or 3 words in a text: where a full name could hide."""
    words = name_key(text).split()
    return {" ".join(words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1)}


def suggest_links(session: so.Session, identity: IdentityRow) -> list[LinkSuggestionRow]:
    """Suggest CRM customers an anonymous account may belong to; a person decides.

    A profile name equal to a customer's name, a bio naming them, or a profile link or bio on a
    customer's own email domain each make a suggestion. Dismissed suggestions are not made again.
    """
    owner = session.get(CustomerRow, identity.customer_id)
    if owner is None or owner.external_crm_id is not None:
        return []
    reasons: dict[int, tuple[float, str]] = {}

    def offer(customer_id: int, score: float, reason: str) -> None:
        if customer_id not in reasons or reasons[customer_id][0] < score:
            reasons[customer_id] = (score, reason)

    crm = sa.and_(CustomerRow.external_crm_id.is_not(None), CustomerRow.forgotten_at.is_(None))
    display = identity.display_name or ""
    parts = {name_key(p) for p in re.split(r"[|·•,/()\[\]\u2013\u2014]| - ", display)}
    parts = {p for p in parts if len(p.split()) >= 2}  # one word ("Kaito") names too many people
    if parts:
        for cid in session.scalars(sa.select(CustomerRow.id).where(crm, CustomerRow.name_key.in_(parts))):
            offer(cid, 0.8, "profile name matches the customer's name")
    bio_names = _name_windows(identity.bio or "") - parts
    if bio_names:
        for cid in session.scalars(
            sa.select(CustomerRow.id).where(crm, CustomerRow.name_key.in_(sorted(bio_names)))
        ):
            offer(cid, 0.5, "bio names the customer")
    for text, score, where in (
        (identity.profile_url or "", 0.6, "profile link"),
        (identity.bio or "", 0.5, "bio"),
    ):
        domains = _domains(text)
        if not domains:
            continue
        by_domain: dict[str, list[int]] = {}
        for cid, domain in session.execute(
            sa.select(CustomerRow.id, CustomerRow.email_domain).where(
                crm, CustomerRow.email_domain.in_(sorted(domains))
            )
        ):
            by_domain.setdefault(domain, []).append(cid)
        for cids in by_domain.values():
            if len(cids) <= MAX_DOMAIN_CUSTOMERS:
                for cid in cids:
                    offer(cid, score, f"{where} is on the customer's email domain")
    if not reasons:
        return []
    known = set(
        session.scalars(
            sa.select(LinkSuggestionRow.customer_id).where(LinkSuggestionRow.identity_id == identity.id)
        )
    )
    now = datetime.now(UTC)
    added = [
        LinkSuggestionRow(
            identity_id=identity.id,
            customer_id=cid,
            reason=reason,
            score=score,
            status="open",
            created_at=now,
        )
        for cid, (score, reason) in sorted(reasons.items())
        if cid not in known
    ]
    session.add_all(added)
    session.flush()
    return added


def decide_suggestion(
    session: so.Session, suggestion_id: int, *, accept: bool, actor: str
) -> LinkSuggestionRow:
    """Accept (link the account to the customer) or dismiss one open suggestion."""
    suggestion = session.get(LinkSuggestionRow, suggestion_id)
    if suggestion is None:
        raise CustomerNotFoundError(f"no link suggestion {suggestion_id}")
    if suggestion.status != "open":
        raise MergeError(f"link suggestion {suggestion_id} was already {suggestion.status}")
    if accept:
        link_identity(session, suggestion.identity_id, suggestion.customer_id, actor=actor)
    else:
        suggestion.status, suggestion.decided_at, suggestion.decided_by = (
            "dismissed",
            datetime.now(UTC),
            actor,
        )
        audit(
            session,
            actor,
            "link_dismissed",
            f"customer:{suggestion.customer_id}",
            {"suggestion": suggestion_id},
        )
    session.flush()
    return suggestion


# --- CRM import -------------------------------------------------------------------------------------


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
    for platform, column in HANDLE_COLUMNS:
        written = raw.get(column, "")
        bare = written.removeprefix("@") if platform == "x" else written.removeprefix("/").removeprefix("u/")
        if bare and not HANDLE_PATTERNS[platform].fullmatch(bare):
            return f"{column} {written!r} is not a valid {platform} handle"
        if bare:
            handles.append((platform, bare))
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
    for platform in ("x", "reddit"):
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
