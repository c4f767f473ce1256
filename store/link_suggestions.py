"""Suggest CRM customers an anonymous account may belong to, and let a person decide."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.customers import CustomerNotFoundError, MergeError, audit, name_key
from store.merges import link_identity
from store.models import CustomerRow, IdentityRow, LinkSuggestionRow

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
