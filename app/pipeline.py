"""The stage functions. Each is one unit of work over the database, the same in every runner.

They only orchestrate: every read and write is a store/ function, every decision a stage's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy.orm as so

from app.config import AppConfig
from classifiers.base import Classifier
from hark.brand import OwnAccounts
from hark.errors import PermanentError, TransientError
from hark.records import PostedCard, QueueCard
from listeners.base import Listener
from platforms.registry import get_platform
from responders.base import QueueResponder
from responders.guardrails import Check, ReplyAsk, blocking, policy_checks
from responders.routing import Decision, RouteFacts, decide
from responders.templates import Rendered, ReplyTemplates, clean_value
from store.cards import (
    card_state,
    cards_posted_since,
    held_cards,
    held_channels,
    mark_shown,
    record_card,
    stale_cards,
)
from store.cases import attach_card, case_card, case_priority, case_thread, ensure_case
from store.config import SlaConfig
from store.customers import is_vip
from store.health import record_success
from store.held_cards import claim_held_card, record_held_card
from store.labels import Labels, add_classifications, labels_for
from store.leads import products_named
from store.linking import link_mention
from store.mentions import (
    add_mentions,
    earlier_mentions,
    load_cursor,
    mark_linked,
    mark_routed,
    pending_mentions,
    save_cursor,
    set_route,
    to_mention,
)
from store.models import CaseRow, CustomerRow, MentionRow
from store.replies import (
    AUTO,
    mark_surfaced,
    queue_reply,
    record_observed_reply,
    unsurfaced_failures,
)
from store.similar_replies import ReplyIndex, add_vectors
from store.sla import SlaClock, owed_sla_alerts, record_sla_alert

log = logging.getLogger(__name__)

Sessions = so.sessionmaker[so.Session]
BURST_WINDOW = timedelta(minutes=1)  # responders.queue.digest_after_per_minute counts cards in this window


@dataclass(frozen=True)
class PollResult:
    fetched: int
    new_ids: list[int]
    own_posts: int
    more: bool
    not_before: datetime | None = None  # the source's rate-limit pacing


def poll_once(listener: Listener, sessions: Sessions, own: OwnAccounts) -> PollResult:
    """Fetch from the listener's cursor; mentions, our own responses and the cursor commit together."""
    with sessions() as session:
        cursor = load_cursor(session, listener.name)
    batch = listener.fetch(cursor)  # network call: no transaction held open
    theirs = [m for m in batch.mentions if not own.owns(m)]
    ours = [m for m in batch.mentions if own.owns(m)]
    with sessions.begin() as session:
        new_ids = add_mentions(session, theirs)
        for post in ours:
            record_observed_reply(session, post)
        save_cursor(session, listener.name, batch.cursor)
        record_success(
            session,
            listener.name,
            len(batch.mentions),
            quota_remaining=batch.quota_remaining,
            quota_reset_at=batch.quota_reset_at,
            next_poll_at=batch.not_before,
        )
    return PollResult(len(batch.mentions), new_ids, len(ours), batch.more, batch.not_before)


def classify_pending(sessions: Sessions, classifier: Classifier, limit: int) -> int:
    """Classify up to `limit` unclassified mentions; return how many were done."""
    with sessions() as session:
        records = [(row.id, to_mention(row)) for row in pending_mentions(session, "classify", limit)]
    if not records:
        return 0
    labels = classifier.classify([m for _, m in records])  # no transaction open while the model runs
    labelled = [(mid, label) for (mid, _), label in zip(records, labels, strict=True)]
    with sessions.begin() as session:
        add_classifications(session, labelled)
        add_vectors(session, [(mid, label.model_version, label.embedding) for mid, label in labelled])
    return len(records)


def _labels_of(session: so.Session, rows: Sequence[MentionRow]) -> dict[int, Labels]:
    """Each row's labels with people's corrections applied, read once for the whole batch."""
    labels = labels_for(session, [row.id for row in rows])
    missing = [row.id for row in rows if row.id not in labels]
    if missing:
        raise LookupError(f"mentions {missing} are marked classified but have no classification")
    return labels


def link_pending(sessions: Sessions, cfg: AppConfig, limit: int) -> int:
    """Link classified mentions to a customer, a case and (for buying signals) a lead."""
    with sessions.begin() as session:
        rows = pending_mentions(session, "link", limit)
        labels = _labels_of(session, rows)
        for row in rows:
            link_mention(session, row, labels[row.id], cfg.customers, cfg.sla)
        mark_linked(session, [row.id for row in rows], datetime.now(UTC))
        return len(rows)


@dataclass(frozen=True)
class Routing:
    """What the route stage needs besides the database."""

    cfg: AppConfig
    templates: ReplyTemplates
    queue: QueueResponder
    own: OwnAccounts


def route_pending(sessions: Sessions, routing: Routing, limit: int) -> int:
    """Decide each linked mention's fate; post queue cards outside the transaction that decided them."""
    cards: list[QueueCard] = []
    with sessions.begin() as session:
        rows = pending_mentions(session, "route", limit)
        labels = _labels_of(session, rows)
        index = ReplyIndex(session)  # the team's past replies, read once for every card of the batch
        now = datetime.now(UTC)
        for row in rows:
            label = labels[row.id]
            facts, customer = _route_facts(session, routing, row, label)
            decision = decide(routing.cfg.routing, facts)
            if decision.action == "auto_reply":
                decision = _auto_reply(
                    session,
                    routing,
                    row=row,
                    label=label,
                    decision=decision,
                    customer=customer,
                    vip=facts.vip,
                )
            card = None
            if decision.action in ("queue", "escalate"):
                ensure_case(session, row, facts.priority)  # a card needs a case, or the post vanishes
                card = _card(
                    session,
                    routing,
                    row=row,
                    label=label,
                    customer=customer,
                    decision=decision,
                    priority=facts.priority,
                    index=index,
                )
                cards.append(card)
            set_route(row, decision.action, decision.rule, routed_at=None if card else now)
    held: dict[str, list[QueueCard]] = {}
    for card in cards:
        with sessions() as session:  # an earlier card of this batch may have opened the case's thread
            thread = case_thread(session, card.case_id)
            crowded = thread is None and _room(session, routing, card.channel) <= 0
        if crowded:  # a burst: the card waits in a digest instead of flooding the channel
            held.setdefault(card.channel, []).append(card)
            continue
        try:
            posted = routing.queue.post_card(card, thread=thread)  # errors leave routed_at NULL: tried again
        except PermanentError as err:  # this card only (the queue refused its blocks, say): the rest go on
            log.error("card_refused case=%d mention=%d error=%s", card.case_id, card.mention_id, err)
            continue
        with sessions.begin() as session:
            now = datetime.now(UTC)
            mark_routed(session, card.mention_id, now)
            _keep_card(session, card, posted, now)
    for channel, waiting in held.items():
        digest = routing.queue.post_digest(channel, waiting)
        with sessions.begin() as session:
            now = datetime.now(UTC)
            for card in waiting:
                mark_routed(session, card.mention_id, now)
                record_card(session, card, channel=digest.channel, ts=None, at=now, digest=digest.ref)
        log.info("cards_digested channel=%s cards=%d", channel, len(waiting))
    return len(rows)


def _room(session: so.Session, routing: Routing, channel: str) -> int:
    """How many more new cards the channel takes in this minute."""
    cap = routing.cfg.responders.queue.digest_after_per_minute
    return cap - cards_posted_since(session, channel, datetime.now(UTC) - BURST_WINDOW)


def post_held_cards(sessions: Sessions, routing: Routing, limit: int) -> int:
    """Cards a digest held back get their own message as the burst drains: oldest first, as many a minute
    as the channel takes."""
    posted = 0
    with sessions() as session:
        channels = held_channels(session)
    for channel in channels:
        with sessions() as session:
            room = min(limit - posted, _room(session, routing, channel))
            waiting = held_cards(session, room, addressed=channel) if room > 0 else []
        for shown in waiting:
            with sessions.begin() as session:  # the drain or a digest pick: whoever claims it posts it
                claimed, thread = claim_held_card(session, shown)
            if not claimed:
                continue
            where = routing.queue.post_card(shown.card, thread=thread)
            with sessions.begin() as session:
                posted += record_held_card(session, shown, where, datetime.now(UTC))
    return posted


def surface_failed_replies(sessions: Sessions, routing: Routing, limit: int) -> int:
    """Put each reply that failed for good in front of a person, once: a note in the thread of its post's
    card, or, when the post has none (an automated reply), a card whose suggestion is the failed text."""
    notes: list[tuple[int, int, str, str, str]] = []  # reply, case, channel, thread, text
    cards: list[tuple[int, QueueCard]] = []
    with sessions.begin() as session:
        failures = unsurfaced_failures(session, limit)
        rows = [session.get_one(MentionRow, reply.mention_id) for reply in failures]
        labels = _labels_of(session, rows)
        index = ReplyIndex(session)
        for reply, row in zip(failures, rows, strict=True):
            why = f"Our reply to this post failed: {reply.error or 'no reason was recorded'}."
            shown = case_card(session, row.case_id) if row.case_id else None
            if shown is not None:
                assert row.case_id is not None  # noqa: S101  # shown implies a case
                text = (
                    f"Our reply to {row.url} failed: {reply.error or 'no reason was recorded'}.\n"
                    f"It was: {reply.text}\nSend it again with: hark replies approve {reply.id}"
                )
                notes.append((reply.id, row.case_id, *shown, text))
                continue
            label = labels[row.id]
            facts, customer = _route_facts(session, routing, row, label)
            ensure_case(session, row, facts.priority)
            if row.route_action == "auto_reply":  # a person answers it now
                set_route(
                    row, "queue", f"{row.route_rule or 'auto_reply'} (reply failed)", routed_at=row.routed_at
                )
            card = _card(
                session,
                routing,
                row=row,
                label=label,
                customer=customer,
                decision=Decision("queue", "reply failed", None, None),
                priority=facts.priority,
                index=index,
            )
            cards.append((reply.id, replace(card, suggested_reply=reply.text, notice=why)))
    for reply_id, case_id, channel, thread, text in notes:
        routing.queue.note(channel, thread, text)  # errors leave it unsurfaced: shown at the next run
        with sessions.begin() as session:
            mark_surfaced(session, reply_id, case_id, datetime.now(UTC))
    for reply_id, card in cards:
        with sessions() as session:
            opened = case_thread(session, card.case_id)  # an earlier card of this batch may have opened it
        posted = routing.queue.post_card(card, thread=opened)
        with sessions.begin() as session:
            now = datetime.now(UTC)
            mark_surfaced(session, reply_id, card.case_id, now)
            _keep_card(session, card, posted, now)
    return len(failures)


def refresh_cards(sessions: Sessions, queue: QueueResponder, limit: int) -> int:
    """Update in place every card whose case or reply changed since it last showed them (a reply sent, a
    CLI approval, a case resolved elsewhere). A card the queue no longer has is given up; a queue that is
    not reachable now leaves the rest for the next run."""
    read_at = datetime.now(UTC)  # a change committed after this read is shown at the next run
    with sessions() as session:
        stale = stale_cards(session, limit)
    for shown in stale:
        try:
            queue.update_card(shown.channel, shown.ts, shown.card)
        except PermanentError as err:  # deleted in Slack, say: nothing to show it on
            log.warning("card_not_updated card=%d error=%s", shown.card_id, err)
        with sessions.begin() as session:
            mark_shown(session, shown.card_id, read_at)
    return len(stale)


def watch_slas(sessions: Sessions, queue: QueueResponder, sla: SlaConfig) -> int:
    """Remind the case's thread (and whoever holds it) `reminder_minutes` before a first response or a
    resolution is due, and tell on-call when one is missed: each once per due time."""
    now = datetime.now(UTC)
    clock = SlaClock(sla.business_hours)
    with sessions() as session:
        owed = owed_sla_alerts(session, clock, sla.reminder_minutes, now)
    for alert in owed:
        what = "first response" if alert.target == "first_response" else "resolution"
        due = f"{alert.due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        if alert.breach:
            text = f"SLA missed: the {what} was due {due}. On-call was told."
        else:
            left = max(1, round(clock.between(now, alert.due_at).total_seconds() / 60))
            text = f"Reminder: the {what} is due {due} ({left} working minutes left)."
        try:
            if alert.breach:
                queue.alert(
                    f"Case #{alert.case_id} on {alert.platform} missed its {what} target (due {due})."
                )
        except (TransientError, PermanentError) as err:  # not told: tried again at the next run
            log.warning("sla_alert_not_sent case=%d kind=%s error=%s", alert.case_id, alert.kind, err)
            continue
        with sessions.begin() as session:  # told once: a failing thread note below must not page again
            record_sla_alert(session, alert, now)
        if alert.channel and alert.thread:
            try:
                queue.note(alert.channel, alert.thread, text, to=alert.assignee)
            except (TransientError, PermanentError) as err:
                log.warning("sla_note_not_posted case=%d kind=%s error=%s", alert.case_id, alert.kind, err)
        log.info("sla_alert case=%d kind=%s due=%s", alert.case_id, alert.kind, alert.due_at.isoformat())
    return len(owed)


def _keep_card(session: so.Session, card: QueueCard, posted: PostedCard, at: datetime) -> None:
    """The first card of a case opens its thread; every card is kept so that changes can update it."""
    attach_card(session, card.case_id, channel=posted.channel, ref=posted.ref, escalated=card.escalated)
    record_card(session, card, channel=posted.channel, ts=posted.ref, at=at)


def _template_for(routing: Routing, decision: Decision, label: Labels) -> str | None:
    """The routing rule's template, else the one suggested for the post's intent."""
    return decision.template or routing.cfg.routing.suggestions.get(label.intent)  # type: ignore[call-overload]


def _route_facts(
    session: so.Session, routing: Routing, row: MentionRow, label: Labels
) -> tuple[RouteFacts, CustomerRow | None]:
    customer = session.get(CustomerRow, row.customer_id) if row.customer_id else None
    customers = routing.cfg.customers
    vip = customer is not None and is_vip(customer, customers.vip_tiers, customers.vip_min_lifetime_value)
    facts = RouteFacts(
        intent=label.intent,
        sentiment=label.sentiment,
        platform=row.platform,
        relevant=label.relevant,
        needs_reply=label.needs_reply,
        vip=vip,
        # the case's priority carries the customer's segment boosts
        priority=case_priority(session, row.case_id) if row.case_id else label.priority,
    )
    return facts, customer


def _reply_text(
    routing: Routing, template: str, *, row: MentionRow, label: Labels, customer: CustomerRow | None
) -> Rendered:
    """The template filled in for this mention, or why it cannot be (it does not fit, say)."""
    name = clean_value((customer.name if customer else None) or row.author_name or "")
    products = products_named(row.text, routing.cfg.customers.products)
    values = {
        "author": clean_value(row.author_handle),
        "handle": get_platform(row.platform).display_handle(clean_value(row.author_handle)),
        "customer_name": name,
        "first_name": name.split(" ")[0] if name else "",
        "tier": clean_value((customer.tier if customer else None) or ""),
        "product": products[0] if products else "",
        "case_id": str(row.case_id or ""),
        "agent": "",  # an automated or suggested reply has no agent; a person's edit adds theirs
        "brand": routing.cfg.brand.name,
        "platform": row.platform,
        "intent": label.intent,
    }
    return routing.templates.render(
        template,
        platform=get_platform(row.platform),
        language=label.language,
        key=f"{row.platform}:{row.external_id}",
        values=values,
    )


def _auto_reply(
    session: so.Session,
    routing: Routing,
    *,
    row: MentionRow,
    label: Labels,
    decision: Decision,
    customer: CustomerRow | None,
    vip: bool,
) -> Decision:
    """Queue the templated reply as approved if the policy allows it; else keep it, blocked with the rule
    that blocked it, and send the mention to a person."""
    assert decision.template is not None  # noqa: S101  # RoutingRule validation requires it
    rendered, checks = _weigh(
        session, routing, decision.template, row=row, label=label, customer=customer, vip=vip
    )
    block = blocking(checks)
    if block is None:
        queue_reply(
            session, row, rendered.text or "", template=decision.template, status="approved", approved_by=AUTO
        )
        return decision
    log.info("auto_reply_blocked mention=%s rule=%s", row.external_id, block.rule)
    reason = f"{block.rule}: {block.why}"
    queue_reply(session, row, rendered.text or "", template=decision.template, status="blocked", error=reason)
    template = decision.template if rendered.text is not None else None  # the card suggests what was blocked
    # the rule's name only: why it blocked is kept with the reply (route_rule is a short column)
    return Decision("queue", f"{decision.rule} (blocked: {block.rule})", template, decision.channel)


def _weigh(
    session: so.Session,
    routing: Routing,
    template: str,
    *,
    row: MentionRow,
    label: Labels,
    customer: CustomerRow | None,
    vip: bool,
) -> tuple[Rendered, list[Check]]:
    """The reply the template gives this mention, and every policy rule's verdict on sending it unasked."""
    rendered = _reply_text(routing, template, row=row, label=label, customer=customer)
    ask = ReplyAsk(
        mention=to_mention(row),
        labels=label,
        vip=vip,
        text=rendered.text,
        refused=rendered.refused,
        mention_id=row.id,
    )
    cfg = routing.cfg
    checks = policy_checks(
        session, ask, cfg.responders.replies, routing.own, zone=cfg.brand.zone, now=datetime.now(UTC)
    )
    return rendered, checks


def explain_auto_reply(session: so.Session, routing: Routing, mention_id: int) -> dict[str, Any]:
    """What routing decides for a mention now, and which policy rules would allow or block an automated
    reply to it, with why (`hark replies explain`)."""
    row = session.get(MentionRow, mention_id)
    if row is None:
        raise LookupError(f"no mention {mention_id}")
    label = _labels_of(session, [row])[row.id]
    facts, customer = _route_facts(session, routing, row, label)
    decision = decide(routing.cfg.routing, facts)
    template = _template_for(routing, decision, label)
    document: dict[str, Any] = {
        "mention": {"id": row.id, "platform": row.platform, "external_id": row.external_id, "url": row.url},
        "route": {"action": decision.action, "rule": decision.rule},
        "recorded": {"action": row.route_action, "rule": row.route_rule},
        "template": template,
        "text": None,
        "checks": [],
        "allowed": False,
        "blocked_by": None,
    }
    if template is None:
        document["blocked_by"] = "template"
        document["checks"] = [{"rule": "template", "allowed": False, "why": "no template for this intent"}]
        return document
    rendered, checks = _weigh(
        session, routing, template, row=row, label=label, customer=customer, vip=facts.vip
    )
    block = blocking(checks)
    document |= {
        "text": rendered.text,
        "checks": [{"rule": c.rule, "allowed": c.allowed, "why": c.why} for c in checks],
        "allowed": block is None and decision.action == "auto_reply",
        "blocked_by": block.rule if block else None,
    }
    if decision.action != "auto_reply" and block is None:
        document["blocked_by"] = "routing"  # the policy would allow it, but no rule asks for an auto-reply
    return document


def _card(
    session: so.Session,
    routing: Routing,
    *,
    row: MentionRow,
    label: Labels,
    customer: CustomerRow | None,
    decision: Decision,
    priority: int,
    index: ReplyIndex,
) -> QueueCard:
    queue_cfg = routing.cfg.responders.queue
    escalated = decision.action == "escalate"
    template = _template_for(routing, decision, label)
    suggestion = _reply_text(routing, template, row=row, label=label, customer=customer) if template else None
    assert row.case_id is not None  # noqa: S101  # callers route only mentions with a case here
    return QueueCard(
        case_id=row.case_id,
        mention_id=row.id,
        platform=row.platform,
        author_handle=row.author_handle,
        author_followers=row.author_followers,
        customer_name=customer.name if customer and customer.external_crm_id else None,
        customer_tier=customer.tier if customer else None,
        text=row.text,
        url=row.url,
        sentiment=label.sentiment,  # type: ignore[arg-type]  # written from a Sentiment
        intent=label.intent,  # type: ignore[arg-type]  # written from an Intent
        priority=priority,
        channel=decision.channel or (queue_cfg.escalation_channel if escalated else queue_cfg.channel),
        escalated=escalated,
        history_count=earlier_mentions(session, row.customer_id, row.id),
        suggested_reply=suggestion.text if suggestion else None,
        similar_replies=tuple(text for text, _ in index.similar(row.id)),
        reply_forbidden=get_platform(row.platform).reply_refusal(row.mentions_brand_account, row.raw),
        state=card_state(session, session.get_one(CaseRow, row.case_id), row),  # as it is when posted
    )
