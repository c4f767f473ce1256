"""SQLAlchemy 2.0 models: the annotations are the schema (`| None` makes a column nullable)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)  # batch mode needs named constraints
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


class CustomerRow(Base):
    __tablename__ = "customers"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    email: so.Mapped[str | None] = so.mapped_column(sa.String(320), index=True)
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(50))
    segment: so.Mapped[str | None] = so.mapped_column(sa.String(50))
    tier: so.Mapped[str | None] = so.mapped_column(sa.String(50))
    lifetime_value: so.Mapped[float | None]
    external_crm_id: so.Mapped[str | None] = so.mapped_column(sa.String(100), unique=True)
    created_at: so.Mapped[datetime]
    updated_at: so.Mapped[datetime]
    forgotten_at: so.Mapped[datetime | None]
    # derived from name and email, so link suggestions are index lookups
    name_key: so.Mapped[str | None] = so.mapped_column(sa.String(200), index=True)
    email_domain: so.Mapped[str | None] = so.mapped_column(sa.String(255), index=True)
    # sha256 of the CRM id of a forgotten customer: a re-import of the same record is refused
    erasure_key: so.Mapped[str | None] = so.mapped_column(sa.String(64), index=True)


class IdentityRow(Base):
    """A platform account. Imported handles wait here with no user id until the author first posts."""

    __tablename__ = "identities"
    __table_args__ = (sa.UniqueConstraint("platform", "platform_user_id"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform: so.Mapped[str] = so.mapped_column(sa.String(16))
    platform_user_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    handle: so.Mapped[str] = so.mapped_column(sa.String(100))
    handle_key: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)  # lower-cased, for lookups
    display_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    followers: so.Mapped[int | None]
    verified: so.Mapped[bool] = so.mapped_column(default=False)
    bio: so.Mapped[str | None] = so.mapped_column(sa.Text)
    profile_url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    customer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    created_at: so.Mapped[datetime]
    updated_at: so.Mapped[datetime]


class MentionRow(Base):
    __tablename__ = "mentions"
    __table_args__ = (sa.UniqueConstraint("platform", "external_id"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform: so.Mapped[str] = so.mapped_column(sa.String(16))
    external_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    source: so.Mapped[str] = so.mapped_column(sa.String(64))
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    author_user_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    author_handle: so.Mapped[str] = so.mapped_column(sa.String(100))
    author_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    author_followers: so.Mapped[int | None]
    author_verified: so.Mapped[bool] = so.mapped_column(default=False)
    author_description: so.Mapped[str | None] = so.mapped_column(sa.Text)  # profile bio, for link suggestions
    author_url: so.Mapped[str | None] = so.mapped_column(sa.String(500))  # profile link
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    url: so.Mapped[str] = so.mapped_column(sa.String(500))
    language: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    conversation_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    in_reply_to: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    mentions_brand_account: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(index=True)
    fetched_at: so.Mapped[datetime]
    raw: so.Mapped[dict[str, Any]]
    # each stage picks up rows whose own marker is still NULL
    classified_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    linked_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    routed_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    route_action: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    route_rule: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    identity_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("identities.id"), index=True)
    customer_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    case_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("cases.id"), index=True)
    # the post was deleted upstream or its author was forgotten: text, url and raw are erased
    erased_at: so.Mapped[datetime | None]


class ClassificationRow(Base):
    __tablename__ = "classifications"
    __table_args__ = (sa.UniqueConstraint("mention_id", "model_version"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    mention_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("mentions.id"), index=True)
    model_version: so.Mapped[str] = so.mapped_column(sa.String(100))
    language: so.Mapped[str] = so.mapped_column(sa.String(16))
    relevant: so.Mapped[bool]
    sentiment: so.Mapped[str] = so.mapped_column(sa.String(16))
    sentiment_score: so.Mapped[float]
    intent: so.Mapped[str] = so.mapped_column(sa.String(32))
    intent_scores: so.Mapped[dict[str, Any]]
    needs_reply: so.Mapped[bool]
    priority: so.Mapped[int]
    created_at: so.Mapped[datetime]


class LabelCorrectionRow(Base):
    """A person's correction of a label; it wins over every model version."""

    __tablename__ = "label_corrections"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    mention_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("mentions.id"), index=True)
    field: so.Mapped[str] = so.mapped_column(sa.String(32))
    old_value: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    new_value: so.Mapped[str] = so.mapped_column(sa.String(64))
    corrected_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    created_at: so.Mapped[datetime]


class CaseRow(Base):
    """A conversation that needs the team's attention."""

    __tablename__ = "cases"
    __table_args__ = (sa.UniqueConstraint("platform", "conversation_id"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform: so.Mapped[str] = so.mapped_column(sa.String(16))
    conversation_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    customer_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="new", index=True)
    priority: so.Mapped[int] = so.mapped_column(default=0)
    escalated: so.Mapped[bool] = so.mapped_column(default=False)
    assignee: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    slack_channel: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    slack_ts: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    opened_at: so.Mapped[datetime]
    updated_at: so.Mapped[datetime]
    sla_due_at: so.Mapped[datetime | None]
    first_response_at: so.Mapped[datetime | None]
    resolved_at: so.Mapped[datetime | None]
    snoozed_until: so.Mapped[datetime | None]  # a person put it aside: no reminder before this
    resolution_due_at: so.Mapped[datetime | None]
    # when Hark set the due times: one that had passed by then (a replay, a backfill) is shown, not alerted
    sla_set_at: so.Mapped[datetime | None]


class ReplyRow(Base):
    """The outbox: a reply is a row before it is a post, so it is sent at most once."""

    __tablename__ = "replies"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    idempotency_key: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    case_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("cases.id"), index=True)
    mention_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("mentions.id"), index=True)
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    template: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    status: so.Mapped[str] = so.mapped_column(sa.String(16), index=True)
    approved_by: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    platform_post_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime]
    updated_at: so.Mapped[datetime]
    sent_at: so.Mapped[datetime | None]
    attempts: so.Mapped[int] = so.mapped_column(
        server_default=sa.text("0")
    )  # posts the platform could not take
    retry_at: so.Mapped[datetime | None]  # not sent again before this (backoff)
    surfaced_at: so.Mapped[datetime | None]  # a failed reply was shown to the team (a card or a note)


class LeadRow(Base):
    """A buying signal on a customer; `mention_id` is the mention that opened it."""

    __tablename__ = "leads"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    customer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    mention_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("mentions.id"), index=True)
    score: so.Mapped[float]
    product_interest: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="new", index=True)
    created_at: so.Mapped[datetime]
    updated_at: so.Mapped[datetime]
    signals: so.Mapped[int] = so.mapped_column(default=1, server_default="1")  # buying signals folded in
    last_mention_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("mentions.id"))


class LinkSuggestionRow(Base):
    """A possible match of an identity to a CRM customer; a person accepts or dismisses it."""

    __tablename__ = "link_suggestions"
    __table_args__ = (sa.UniqueConstraint("identity_id", "customer_id"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    identity_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("identities.id"), index=True)
    customer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    reason: so.Mapped[str] = so.mapped_column(sa.String(200))
    score: so.Mapped[float]
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="open", index=True)
    created_at: so.Mapped[datetime]
    decided_at: so.Mapped[datetime | None]
    decided_by: so.Mapped[str | None] = so.mapped_column(sa.String(100))


class SourceCursorRow(Base):
    __tablename__ = "source_cursors"
    source: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    cursor: so.Mapped[str | None] = so.mapped_column(sa.Text)  # a listener's compound cursor (JSON)
    updated_at: so.Mapped[datetime]


class SourceHealthRow(Base):
    __tablename__ = "source_health"
    source: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    healthy: so.Mapped[bool] = so.mapped_column(default=True)
    last_success_at: so.Mapped[datetime | None]
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    last_error_at: so.Mapped[datetime | None]
    consecutive_failures: so.Mapped[int] = so.mapped_column(default=0)
    items_fetched: so.Mapped[int] = so.mapped_column(default=0)
    updated_at: so.Mapped[datetime]
    stopped: so.Mapped[bool] = so.mapped_column(default=False)  # auth or permanent error: a person must act
    quota_remaining: so.Mapped[int | None]  # requests left in the platform's rate-limit window
    quota_reset_at: so.Mapped[datetime | None]
    next_poll_at: so.Mapped[datetime | None]  # backoff or pacing: the source is not asked before this


class AuditLogRow(Base):
    __tablename__ = "audit_log"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(index=True)
    actor: so.Mapped[str] = so.mapped_column(sa.String(100))
    action: so.Mapped[str] = so.mapped_column(sa.String(64))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    detail: so.Mapped[dict[str, Any]]


class SwitchRow(Base):
    """A switch a person flips at run time (`hark replies pause`); every process reads it from here."""

    __tablename__ = "switches"
    name: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    set_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    set_at: so.Mapped[datetime]


class MentionVectorRow(Base):
    """A mention's sentence embedding from the classifier: how later posts find replies to similar ones."""

    __tablename__ = "mention_vectors"
    mention_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("mentions.id"), primary_key=True)
    model_version: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)
    vector: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)  # float32, little-endian


class SeenRequestRow(Base):
    """A Slack interaction already applied (its action, event or view): a replay or a retry finds it here."""

    __tablename__ = "seen_requests"
    key: so.Mapped[str] = so.mapped_column(sa.String(200), primary_key=True)
    seen_at: so.Mapped[datetime] = so.mapped_column(index=True)


class CardRow(Base):
    """A queue card as posted: what it showed of its post (a QueueCard without its state) and where it is, so
    every change of its case or reply can update it in place."""

    __tablename__ = "cards"
    __table_args__ = (sa.UniqueConstraint("channel", "ts"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("cases.id"), index=True)
    mention_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("mentions.id"), index=True)
    channel: so.Mapped[str] = so.mapped_column(sa.String(100))  # Slack's channel id
    ts: so.Mapped[str | None] = so.mapped_column(sa.String(32))  # None while a burst's digest holds it
    addressed: so.Mapped[str] = so.mapped_column(
        sa.String(100), server_default=""
    )  # the channel routing named
    digest_ts: so.Mapped[str | None] = so.mapped_column(sa.String(32))  # the digest that listed it
    content: so.Mapped[dict[str, Any]]
    posted_at: so.Mapped[datetime]
    shown_at: so.Mapped[datetime]  # when the card last showed its case's state (posted or updated)


class CaseNoteRow(Base):
    """A message the team typed in a case's Slack thread: an internal note, kept with the case, never sent."""

    __tablename__ = "case_notes"
    __table_args__ = (sa.UniqueConstraint("channel", "ts"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("cases.id"), index=True)
    author: so.Mapped[str] = so.mapped_column(sa.String(100))  # "slack:<user id>"
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    channel: so.Mapped[str] = so.mapped_column(sa.String(100))
    ts: so.Mapped[str] = so.mapped_column(sa.String(32))
    created_at: so.Mapped[datetime]


class SlaAlertRow(Base):
    """A reminder or breach alert sent for one due time of a case: each is sent once."""

    __tablename__ = "sla_alerts"
    __table_args__ = (sa.UniqueConstraint("case_id", "kind", "due_at"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("cases.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(
        sa.String(32)
    )  # first_response_reminder, ..._breach, resolution_...
    due_at: so.Mapped[datetime]
    sent_at: so.Mapped[datetime]


class ReportRow(Base):
    """A weekly report built (and posted) for an ISO week: the schedule claims a week here, so it runs once
    however many schedulers there are."""

    __tablename__ = "reports"
    week: so.Mapped[str] = so.mapped_column(sa.String(10), primary_key=True)  # "2026-W47"
    claimed_at: so.Mapped[datetime]
    built_at: so.Mapped[datetime | None]
    folder: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    posted_at: so.Mapped[datetime | None]
    posted_ref: so.Mapped[str | None] = so.mapped_column(sa.String(200))


class AlertRow(Base):
    """A spike or a silent source, raised once: kept to hold the cooldown, to show in `hark status`, and to
    clear when the source speaks again."""

    __tablename__ = "alerts"
    __table_args__ = (sa.Index("ix_alerts_kind_subject", "kind", "subject"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(32))  # spike_negative, spike_all, source_silent, ...
    subject: so.Mapped[str] = so.mapped_column(sa.String(100))  # "mentions", or the source's name
    fired_at: so.Mapped[datetime] = so.mapped_column(index=True)
    cleared_at: so.Mapped[datetime | None]
    message: so.Mapped[str] = so.mapped_column(sa.Text)
    detail: so.Mapped[dict[str, Any]]
    posted_ref: so.Mapped[str | None] = so.mapped_column(sa.String(200))
