"""The 360° view of a customer: labels with human corrections, segments, sentiment trend."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.case_notes import notes_of_case
from store.config import CustomersConfig, Segment
from store.customers import is_vip, merged_ids
from store.labels import Labels as Label
from store.labels import labels_for
from store.models import (
    AuditLogRow,
    CaseNoteRow,
    CaseRow,
    ClassificationRow,
    CustomerRow,
    IdentityRow,
    LabelCorrectionRow,
    LeadRow,
    LinkSuggestionRow,
    MentionRow,
    ReplyRow,
)

COMPLAINT_INTENTS = ("complaint", "churn_risk")


def net_sentiment(labels: Iterable[Label]) -> tuple[float | None, int]:
    """(positive - negative) / mentions over relevant, non-spam mentions; None when there are none."""
    counted = [lab for lab in labels if lab.relevant and lab.intent != "spam"]
    if not counted:
        return None, 0
    score = sum((lab.sentiment == "positive") - (lab.sentiment == "negative") for lab in counted)
    return round(score / len(counted), 3), len(counted)


def customer_segments(
    session: so.Session, customer: CustomerRow, cfg: CustomersConfig, as_of: datetime
) -> list[Segment]:
    """The segments `customer` is in at `as_of`, by the rules in config."""
    rules = cfg.segments
    segments: list[Segment] = []
    if is_vip(customer, cfg.vip_tiers, cfg.vip_min_lifetime_value):
        segments.append("vip")
    since = as_of - timedelta(days=max(rules.complainer_days, rules.sentiment_days))
    recent = session.execute(
        sa.select(MentionRow.id, MentionRow.created_at).where(
            MentionRow.customer_id == customer.id,
            MentionRow.created_at >= since,
            MentionRow.created_at <= as_of,
        )
    ).all()
    labels = labels_for(session, [mid for mid, _ in recent])
    when: dict[int, datetime] = {mid: at for mid, at in recent}

    def within(days: int) -> list[Label]:
        start = as_of - timedelta(days=days)
        return [lab for mid, lab in labels.items() if when[mid] >= start]

    complaints = sum(
        lab.relevant and lab.intent in COMPLAINT_INTENTS for lab in within(rules.complainer_days)
    )
    if complaints >= rules.complainer_min_complaints:
        segments.append("frequent_complainer")
    net, counted = net_sentiment(within(rules.sentiment_days))
    if net is not None and counted >= rules.sentiment_min_mentions:
        if net >= rules.promoter_min_net:
            segments.append("promoter")
        elif net <= rules.detractor_max_net:
            segments.append("detractor")
    return segments


def boosted_priority(priority: int, segments: Iterable[Segment], cfg: CustomersConfig) -> int:
    """A mention's priority once its author's segments count: a VIP's complaint goes first."""
    return max(0, min(100, priority + sum(cfg.priority_boost.get(s, 0) for s in segments)))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def customer_dict(customer: CustomerRow) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "segment": customer.segment,
        "tier": customer.tier,
        "lifetime_value": customer.lifetime_value,
        "external_crm_id": customer.external_crm_id,
        "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
        "forgotten_at": _iso(customer.forgotten_at),
    }


def identity_dict(identity: IdentityRow) -> dict[str, Any]:
    return {
        "id": identity.id,
        "platform": identity.platform,
        "handle": identity.handle,
        "platform_user_id": identity.platform_user_id,
        "display_name": identity.display_name,
        "followers": identity.followers,
        "verified": identity.verified,
        "bio": identity.bio,
        "profile_url": identity.profile_url,
        "seen": identity.platform_user_id is not None,  # False: imported from the CRM, never posted yet
    }


def mention_dict(
    row: MentionRow, label: Label | None, cfg: CustomersConfig, segments: list[Segment]
) -> dict[str, Any]:
    return {
        "id": row.id,
        "platform": row.platform,
        "external_id": row.external_id,
        "kind": row.kind,
        "created_at": _iso(row.created_at),
        "author_handle": row.author_handle,
        "text": row.text,
        "url": row.url,
        "language": row.language,
        "conversation_id": row.conversation_id,
        "sentiment": label.sentiment if label else None,
        "sentiment_score": label.sentiment_score if label else None,
        "intent": label.intent if label else None,
        "relevant": label.relevant if label else None,
        "needs_reply": label.needs_reply if label else None,
        "priority": boosted_priority(label.priority, segments, cfg) if label else None,
        "model_version": label.model_version if label else None,
        "corrected": list(label.corrected) if label else [],
        "route_action": row.route_action,
        "case_id": row.case_id,
        "erased": row.erased_at is not None,
    }


def reply_dict(reply: ReplyRow) -> dict[str, Any]:
    return {
        "id": reply.id,
        "mention_id": reply.mention_id,
        "case_id": reply.case_id,
        "status": reply.status,
        "text": reply.text,
        "template": reply.template,
        "approved_by": reply.approved_by,
        "platform_post_id": reply.platform_post_id,
        "created_at": _iso(reply.created_at),
        "sent_at": _iso(reply.sent_at),
    }


def case_dict(case: CaseRow, notes: list[CaseNoteRow] | None = None) -> dict[str, Any]:
    return {
        "id": case.id,
        "platform": case.platform,
        "conversation_id": case.conversation_id,
        "status": case.status,
        "priority": case.priority,
        "escalated": case.escalated,
        "assignee": case.assignee,
        "opened_at": _iso(case.opened_at),
        "sla_due_at": _iso(case.sla_due_at),
        "first_response_at": _iso(case.first_response_at),
        "resolved_at": _iso(case.resolved_at),
        "snoozed_until": _iso(case.snoozed_until),
        "notes": [{"by": n.author, "at": _iso(n.created_at), "text": n.text} for n in notes or ()],
    }


def lead_dict(lead: LeadRow) -> dict[str, Any]:
    return {
        "id": lead.id,
        "customer_id": lead.customer_id,
        "status": lead.status,
        "score": lead.score,
        "product_interest": lead.product_interest,
        "signals": lead.signals,
        "mention_id": lead.mention_id,
        "last_mention_id": lead.last_mention_id,
        "created_at": _iso(lead.created_at),
        "updated_at": _iso(lead.updated_at),
    }


def sentiment_trend(rows: Iterable[MentionRow], labels: dict[int, Label]) -> list[dict[str, Any]]:
    """Labelled mentions per ISO week, oldest first, with the week's net sentiment."""
    weeks: dict[str, list[Label]] = {}
    for row in rows:
        label = labels.get(row.id)
        if label is not None and label.relevant and label.intent != "spam":
            iso = row.created_at.isocalendar()
            weeks.setdefault(f"{iso.year}-W{iso.week:02d}", []).append(label)
    trend = []
    for week in sorted(weeks):
        labs = weeks[week]
        counts = {s: sum(lab.sentiment == s for lab in labs) for s in ("positive", "neutral", "negative")}
        trend.append({"week": week, **counts, "net": net_sentiment(labs)[0]})
    return trend


def customer_view(
    session: so.Session, customer: CustomerRow, cfg: CustomersConfig, as_of: datetime | None = None
) -> dict[str, Any]:
    """The document `hark customers show --json` prints (DESIGN.md), plus the sentiment trend.

    Mentions across platforms in time order with their labels, every reply with who approved it,
    the cases and leads, the account links a person may want to make, and segments at `as_of`.
    """
    as_of = as_of or datetime.now(UTC)
    segments = customer_segments(session, customer, cfg, as_of)
    identities = session.scalars(
        sa.select(IdentityRow)
        .where(IdentityRow.customer_id == customer.id)
        .order_by(IdentityRow.platform, IdentityRow.id)
    ).all()
    mentions = session.scalars(
        sa.select(MentionRow)
        .where(MentionRow.customer_id == customer.id)
        .order_by(MentionRow.created_at, MentionRow.id)
    ).all()
    mention_ids = [m.id for m in mentions]
    labels = labels_for(session, mention_ids)
    replies = (
        session.scalars(
            sa.select(ReplyRow)
            .where(ReplyRow.mention_id.in_(mention_ids))
            .order_by(ReplyRow.created_at, ReplyRow.id)
        ).all()
        if mention_ids
        else []
    )
    case_ids = {m.case_id for m in mentions if m.case_id is not None}
    cases = session.scalars(
        sa.select(CaseRow)
        .where(sa.or_(CaseRow.customer_id == customer.id, CaseRow.id.in_(case_ids)))
        .order_by(CaseRow.opened_at, CaseRow.id)
    ).all()
    leads = session.scalars(
        sa.select(LeadRow).where(LeadRow.customer_id == customer.id).order_by(LeadRow.created_at, LeadRow.id)
    ).all()
    suggestions = session.execute(
        sa.select(LinkSuggestionRow, IdentityRow)
        .join(IdentityRow, IdentityRow.id == LinkSuggestionRow.identity_id)
        .where(
            LinkSuggestionRow.status == "open",
            sa.or_(LinkSuggestionRow.customer_id == customer.id, IdentityRow.customer_id == customer.id),
        )
        .order_by(LinkSuggestionRow.id)
    ).all()
    net, counted = net_sentiment(
        lab
        for m in mentions
        if m.created_at >= as_of - timedelta(days=cfg.segments.sentiment_days) and m.created_at <= as_of
        for lab in [labels.get(m.id)]
        if lab is not None
    )
    profile = customer_dict(customer) | {
        "vip": "vip" in segments,
        "segments": segments,
        "net_sentiment": net,
        "net_sentiment_mentions": counted,
        "net_sentiment_days": cfg.segments.sentiment_days,
        "suggested_links": [
            {
                "suggestion_id": s.id,
                "identity_id": i.id,
                "platform": i.platform,
                "handle": i.handle,
                "customer_id": s.customer_id,
                "reason": s.reason,
                "score": s.score,
            }
            for s, i in suggestions
        ],
    }
    return {
        "customer": profile,
        "identities": [identity_dict(i) for i in identities],
        "mentions": [mention_dict(m, labels.get(m.id), cfg, segments) for m in mentions],
        "replies": [reply_dict(r) for r in replies],
        "cases": [case_dict(c, notes_of_case(session, c.id)) for c in cases],
        "leads": [lead_dict(lead) for lead in leads],
        "sentiment_trend": sentiment_trend(mentions, labels),
    }


def customer_export(session: so.Session, customer: CustomerRow, cfg: CustomersConfig) -> dict[str, Any]:
    """Everything Hark holds on a person: the view, raw payloads, every label and correction, audit."""
    view = customer_view(session, customer, cfg)
    mention_ids = [m["id"] for m in view["mentions"]]
    raw: dict[int, dict[str, Any]] = {}
    if mention_ids:
        stmt = sa.select(MentionRow.id, MentionRow.raw).where(MentionRow.id.in_(mention_ids))
        raw = {mid: payload for mid, payload in session.execute(stmt)}
    for mention in view["mentions"]:
        mention["raw"] = raw.get(mention["id"])
    classifications = (
        session.scalars(
            sa.select(ClassificationRow)
            .where(ClassificationRow.mention_id.in_(mention_ids))
            .order_by(ClassificationRow.id)
        ).all()
        if mention_ids
        else []
    )
    corrections = (
        session.scalars(
            sa.select(LabelCorrectionRow)
            .where(LabelCorrectionRow.mention_id.in_(mention_ids))
            .order_by(LabelCorrectionRow.id)
        ).all()
        if mention_ids
        else []
    )
    subjects = [f"customer:{cid}" for cid in merged_ids(session, customer.id)]
    subjects += [f"mention:{mid}" for mid in mention_ids]
    entries = session.scalars(
        sa.select(AuditLogRow)
        .where(AuditLogRow.subject.in_(subjects))
        .order_by(AuditLogRow.at, AuditLogRow.id)
    ).all()
    return view | {
        "classifications": [
            {
                "mention_id": c.mention_id,
                "model_version": c.model_version,
                "language": c.language,
                "relevant": c.relevant,
                "sentiment": c.sentiment,
                "sentiment_score": c.sentiment_score,
                "intent": c.intent,
                "intent_scores": c.intent_scores,
                "needs_reply": c.needs_reply,
                "priority": c.priority,
                "created_at": _iso(c.created_at),
            }
            for c in classifications
        ],
        "label_corrections": [
            {
                "mention_id": c.mention_id,
                "field": c.field,
                "old_value": c.old_value,
                "new_value": c.new_value,
                "corrected_by": c.corrected_by,
                "created_at": _iso(c.created_at),
            }
            for c in corrections
        ],
        "audit": [
            {"at": _iso(a.at), "actor": a.actor, "action": a.action, "subject": a.subject, "detail": a.detail}
            for a in entries
        ],
        "exported_at": datetime.now(UTC).isoformat(),
    }
