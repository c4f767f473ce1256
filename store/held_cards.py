"""A card a burst's digest held back, posted once: by the drain or by a person picking it from the digest,
whoever comes first. Claim it, post it (the caller, outside any transaction), then record where it went."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy.orm as so

from hark.records import PostedCard
from store.cards import ShownCard, post_held_card
from store.cases import attach_card, case_thread
from store.seen_requests import first_sight


def claim_held_card(session: so.Session, held: ShownCard) -> tuple[bool, str | None]:
    """(True, the thread its case's card is in) for the one caller who may post it; (False, None) for the
    rest."""
    if not first_sight(session, f"held:{held.card_id}"):
        return False, None
    return True, case_thread(session, held.card.case_id)


def record_held_card(session: so.Session, held: ShownCard, where: PostedCard, at: datetime) -> bool:
    """The held card is posted at `where`, and its case's card is it; False when another process posted it."""
    if not post_held_card(session, held.card_id, channel=where.channel, ts=where.ref, at=at):
        return False
    attach_card(
        session, held.card.case_id, channel=where.channel, ref=where.ref, escalated=held.card.escalated
    )
    return True
