"""Link one classified mention to its customer, its conversation's case and (for buying signals) a lead."""

from __future__ import annotations

import sqlalchemy.orm as so

from store.cases import open_case
from store.config import CustomersConfig, SlaConfig
from store.customers import FORGOTTEN, resolve_identity
from store.labels import Labels
from store.leads import products_named, record_buying_signal
from store.link_suggestions import suggest_links
from store.mentions import to_mention
from store.models import CustomerRow, MentionRow
from store.profiles import boosted_priority, customer_segments
from store.replies import adopt_replies
from store.sla import SlaClock, sla_targets

CASE_INTENTS = ("complaint", "churn_risk", "support_question", "purchase_intent")  # the team owes an answer


def wants_customer(label: Labels) -> bool:
    """Noise and spam are counted, but nobody is made a customer for them."""
    return label.relevant and label.intent != "spam"


def link_mention(
    session: so.Session, row: MentionRow, label: Labels, customers: CustomersConfig, sla: SlaConfig
) -> None:
    """Resolve the author to a customer; open or join the case; record a buying signal on a lead."""
    if not wants_customer(label):
        return
    if row.author_user_id == FORGOTTEN:  # erased before it was linked: there is nobody to link
        return
    author = to_mention(row).author
    identity = resolve_identity(session, author, bio=row.author_description, profile_url=row.author_url)
    customer = session.get_one(CustomerRow, identity.customer_id)
    row.identity_id, row.customer_id = identity.id, customer.id
    session.flush()  # the segments below count this mention too
    suggest_links(session, identity)
    # segments as of the post's own time, so a replay of old posts ranks them as they were then
    segments = customer_segments(session, customer, customers, row.created_at)
    vip = "vip" in segments
    if label.needs_reply or label.intent in CASE_INTENTS:
        priority = boosted_priority(label.priority, segments, customers)
        targets = sla_targets(sla, priority=priority, platform=row.platform, vip=vip)
        case = open_case(
            session,
            platform=row.platform,
            conversation_id=row.conversation_id or row.external_id,
            customer_id=customer.id,
            priority=priority,
            sla=(SlaClock(sla.business_hours), targets) if label.needs_reply else None,
            at=row.created_at,
        )
        row.case_id = case.id
        adopt_replies(session, row.id, case.id)
    if label.intent == "purchase_intent":  # one open lead per customer; a new signal raises its score
        record_buying_signal(
            session,
            customer.id,
            row.id,
            float(label.intent_scores.get("purchase_intent", 0.0)),
            products_named(row.text, customers.products),
        )
