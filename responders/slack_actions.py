"""What the community team does on a card comes back here: relabel, approve, claim, resolve, escalate, snooze.

Every callback acks first (Slack retries after 3 s), applies its change in one transaction together with the
click's key (a replay or a retry of the request finds the key and changes nothing), then says it once in the
case's thread and updates every card of the case in place. A refusal goes only to the person who clicked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy.orm as so
from slack_bolt import Ack, App
from sqlalchemy.exc import SQLAlchemyError

from hark.errors import HarkError
from platforms.registry import get_platform
from responders.config import QueueConfig
from responders.slack import SlackQueueResponder
from responders.slack_access import SlackAccess
from responders.slack_blocks import (
    DIGEST_OPEN,
    REPLY_INPUT,
    REPLY_VIEW,
    cut,
    escape_mrkdwn,
    literal,
    person,
    person_element,
    reply_length_line,
    reply_modal,
)
from store.cards import card_at, cards_of_case, held_cards, mark_shown, record_card
from store.case_actions import (
    Outcome,
    case_of_mention,
    claim_case,
    escalate_case,
    reopen_case,
    resolve_case,
    snooze_case,
    unclaim_case,
)
from store.case_notes import add_note
from store.cases import case_card
from store.db import Sessions
from store.held_cards import claim_held_card, record_held_card
from store.labels import record_correction
from store.models import CaseRow
from store.reply_review import send_from_card
from store.seen_requests import first_sight

log = logging.getLogger(__name__)

RELABEL_ACTION = re.compile(r"^relabel_(sentiment|intent|needs_reply|relevant)$")
CASE_ACTION = re.compile(r"^(claim|unclaim|resolve|reopen|escalate)_case$")
CaseChange = Callable[..., Outcome]
CASE_CHANGES: dict[str, tuple[CaseChange, str]] = {  # action -> (store function, history words)
    "claim": (claim_case, "claimed the case"),
    "unclaim": (unclaim_case, "gave the case back"),
    "resolve": (resolve_case, "resolved the case"),
    "reopen": (reopen_case, "reopened the case"),
    "escalate": (escalate_case, "escalated the case"),
}
MAX_SNOOZE = timedelta(days=30)
NOT_A_SENDER = (
    "You may not send replies from Slack. An admin can add you, or a user group of yours, to "
    "responders.queue.senders."
)


def parse_choice(value: str) -> tuple[int, str]:
    """ "<mention id>:<label>" from a menu option; ValueError for anything else."""
    mention, sep, label = value.partition(":")
    if not sep or not mention.isdigit() or not label:
        raise ValueError(f"unexpected menu value {value!r}")
    return int(mention), label


def action_key(user_id: str, action: dict[str, Any]) -> str:
    """One click: its action_ts is the same in a replay or a retry of the request, new in a second click."""
    return f"action:{user_id}:{action.get('action_id')}:{action.get('block_id')}:{action.get('action_ts')}"


@dataclass(frozen=True)
class Click:
    """Who clicked what, on which card."""

    user_id: str
    channel: str
    card_ts: str | None
    key: str

    @property
    def who(self) -> str:
        return f"slack:{self.user_id or 'unknown'}"  # the id, not the name: names can be changed and reused


def clicked(body: dict[str, Any], action: dict[str, Any]) -> Click:
    user_id = str((body.get("user") or {}).get("id", ""))
    channel = str((body.get("channel") or {}).get("id", ""))
    card_ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
    return Click(user_id, channel, card_ts, action_key(user_id, action))


class CardWorkflow:
    """The callbacks' shared work: the database, the cards' queue responder and who may send."""

    def __init__(
        self, sessions: Sessions, queue: SlackQueueResponder, cfg: QueueConfig, senders: SlackAccess
    ):
        self.sessions = sessions
        self.queue = queue
        self.cfg = cfg
        self.senders = senders

    def tell(self, click: Click, text: str, *, holder: str | None = None) -> None:
        """Only the person who clicked sees it (plain words, escaped; `holder` leads, mentioned); the change,
        or none, stands whether or not it posts."""
        words = escape_mrkdwn(text)
        try:
            self.queue.tell(click.channel, click.user_id, f"{person(holder)} {words}" if holder else words)
        except HarkError as err:
            log.warning("slack_tell_failed channel=%s error=%s", click.channel, err)

    def said(self, case_id: int, who: str, words: list[dict[str, Any]]) -> None:
        """One line of history in the case's thread."""
        with self.sessions() as session:
            opened = case_card(session, case_id)
        if opened is None:
            return
        try:
            self.queue.history(*opened, [person_element(who), literal(" "), *words])
        except HarkError as err:
            log.warning("slack_history_failed case=%d error=%s", case_id, err)

    def refresh(self, case_id: int) -> None:
        """Every card of the case shows its state now; one that fails is left to the refresh stage."""
        with self.sessions() as session:
            shown = cards_of_case(session, case_id)
        for card in shown:
            try:
                self.queue.update_card(card.channel, card.ts, card.card)
            except HarkError as err:
                log.warning("slack_card_update_failed case=%d card=%d error=%s", case_id, card.card_id, err)
                continue
            with self.sessions.begin() as session:
                mark_shown(session, card.card_id, datetime.now(UTC))

    def apply(
        self, click: Click, change: Callable[[so.Session], tuple[int, Outcome]], what: str
    ) -> tuple[int, Outcome] | None:
        """Run `change` once per click, in one transaction with the click's key; None for a replay or a
        failure (told to the person who clicked: Hark could not `what`)."""
        try:
            with self.sessions.begin() as session:
                if not first_sight(session, click.key):
                    log.info("slack_replay_ignored key=%s", click.key)
                    return None
                return change(session)
        except (LookupError, ValueError, HarkError) as err:
            log.warning("slack_action_refused user=%s reason=%s", click.user_id, err)
            self.tell(click, f"Hark could not {what}: {err}")
        except SQLAlchemyError as err:
            log.error("slack_action_not_saved user=%s error=%s", click.user_id, type(err).__name__)
            self.tell(click, f"Hark could not save this ({what}: database error); please try again.")
        return None

    def answer(self, click: Click, case_id: int, outcome: Outcome, words: list[dict[str, Any]]) -> None:
        if outcome.changed:
            self.said(case_id, click.who, words)
            self.refresh(case_id)
        elif outcome.holder:
            self.tell(click, f"{outcome.why}.", holder=outcome.holder)
        elif outcome.why:
            self.tell(click, outcome.why[:1].upper() + outcome.why[1:] + ".")

    def escalate_to_on_call(self, case_id: int, click: Click) -> None:
        """The case's card goes to the escalation channel too, where the on-call group is called to it."""
        with self.sessions() as session:
            shown = cards_of_case(session, case_id)
        if not shown:
            return
        first = shown[0].card
        card = replace(first, escalated=True, channel=self.cfg.escalation_channel)
        try:
            posted = self.queue.post_card(card)
            with self.sessions.begin() as session:
                record_card(session, card, channel=posted.channel, ts=posted.ref, at=datetime.now(UTC))
            self.queue.alert(f"case #{case_id} was escalated: its card is above.", thread=posted.ref)
        except HarkError as err:
            log.error("slack_escalation_not_posted case=%d error=%s", case_id, err)
            self.tell(click, f"The case is escalated, but its card could not be posted there: {err}")


class CardControls:
    """The callbacks of a card's controls (bolt injects their arguments by name)."""

    def __init__(self, flow: CardWorkflow) -> None:
        self.flow = flow

    def relabel(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        click = clicked(body, action)
        field = str(action["action_id"]).removeprefix("relabel_")
        choice = str((action.get("selected_option") or {}).get("value", ""))

        def change(session: so.Session) -> tuple[int, Outcome]:
            mention_id, value = parse_choice(choice)
            row = record_correction(session, mention_id, field, value, click.who)
            if row is None:  # it already had that label: nothing changed, nothing to announce
                return mention_id, Outcome(False)
            log.info(
                "relabel_saved mention=%d field=%s old=%s new=%s", mention_id, field, row.old_value, value
            )
            return mention_id, Outcome(
                True, f"{field.replace('_', ' ')}: {row.old_value or 'none'} → {value}"
            )

        done = self.flow.apply(click, change, "relabel this post")
        if done is None or not done[1].changed:
            return
        mention_id, outcome = done
        with self.flow.sessions() as session:
            case_id = _case_id(session, mention_id)
        if case_id is not None:
            self.flow.said(case_id, click.who, [literal(f"relabelled {outcome.why}")])
            self.flow.refresh(case_id)

    def change_case(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        click = clicked(body, action)
        name = str(action["action_id"]).removesuffix("_case")
        store_change, words = CASE_CHANGES[name]

        def change(session: so.Session) -> tuple[int, Outcome]:
            case = case_of_mention(session, _mention_of(action))
            return case.id, store_change(session, case.id, by=click.who, now=datetime.now(UTC))

        done = self.flow.apply(click, change, f"{name} the case")
        if done is None:
            return
        case_id, outcome = done
        log.info(
            "case_action case=%d action=%s changed=%s user=%s", case_id, name, outcome.changed, click.user_id
        )
        self.flow.answer(click, case_id, outcome, [literal(words)])
        if name == "escalate" and outcome.changed:
            self.flow.escalate_to_on_call(case_id, click)

    def snooze(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        click = clicked(body, action)
        choice = str((action.get("selected_option") or {}).get("value", ""))

        picked = action.get("selected_date_time")  # the "until a time" picker: seconds since the epoch

        def change(session: so.Session) -> tuple[int, Outcome]:
            now = datetime.now(UTC)
            if action.get("action_id") == "snooze_until":
                mention_id = _mention_of({"value": str(action.get("block_id", "")).removeprefix("case:")})
                if not isinstance(picked, int) or isinstance(picked, bool):
                    raise ValueError("pick a date and a time to snooze the case until")
                until = datetime.fromtimestamp(picked, UTC)
            else:
                mention_id, minutes = parse_choice(choice)
                if not minutes.isdigit():
                    raise ValueError(f"a snooze is 1 minute to 30 days, not {minutes!r} minutes")
                until = now + timedelta(minutes=int(minutes))
            if until > now + MAX_SNOOZE:
                raise ValueError("a snooze is 1 minute to 30 days")
            case = case_of_mention(session, mention_id)
            return case.id, snooze_case(session, case.id, by=click.who, until=until, now=now)

        done = self.flow.apply(click, change, "snooze the case")
        if done is not None:
            case_id, outcome = done
            with self.flow.sessions() as session:
                until = session.get_one(CaseRow, case_id).snoozed_until
            self.flow.answer(click, case_id, outcome, [literal(f"snoozed the case until {_utc(until)}")])

    def approve(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        click = clicked(body, action)
        if not self.flow.senders.allows(click.user_id):
            log.warning("reply_send_refused user=%s reason=not a sender", click.user_id)
            self.flow.tell(click, NOT_A_SENDER)
            return
        with self.flow.sessions() as session:
            shown = card_at(session, click.channel, click.card_ts or "")
        text = shown.card.suggested_reply if shown is not None else None
        if shown is None or not text:
            self.flow.tell(click, "This card suggests no reply to approve.")
            return
        mention_id = shown.card.mention_id  # the card's own post, whatever the button's value says

        def change(session: so.Session) -> tuple[int, Outcome]:
            outcome = send_from_card(session, mention_id, text, by=click.who)
            return case_of_mention(session, mention_id).id, outcome

        done = self.flow.apply(click, change, "approve this reply")
        if done is not None:
            case_id, outcome = done
            log.info(
                "reply_approved_in_slack mention=%d changed=%s user=%s",
                mention_id,
                outcome.changed,
                click.user_id,
            )
            self.flow.answer(
                click, case_id, outcome, [literal("approved the reply: "), literal(cut(text, 600)[0])]
            )

    def open_post(self, ack: Ack) -> None:
        ack()  # a link button: Slack opens the post; Hark has nothing to do

    def open_reply(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Edit & send, or Write reply: the modal, prefilled with the suggestion or empty."""
        ack()
        click = clicked(body, action)
        if not self.flow.senders.allows(click.user_id):
            self.flow.tell(click, NOT_A_SENDER)
            return
        with self.flow.sessions() as session:
            shown = card_at(session, click.channel, click.card_ts or "")
        if shown is None:
            self.flow.tell(click, "Hark does not know this card.")
            return
        if shown.card.reply_forbidden:
            self.flow.tell(click, shown.card.reply_forbidden)
            return
        text = shown.card.suggested_reply or "" if action["action_id"] == "edit_reply" else ""
        view = reply_modal(shown.card, text, channel=shown.channel, ts=shown.ts)
        try:
            self.flow.queue.open_view(str(body.get("trigger_id") or ""), view)
        except HarkError as err:
            log.warning("slack_modal_not_opened user=%s error=%s", click.user_id, err)
            self.flow.tell(click, f"Hark could not open the reply form: {err}")

    def reply_length(self, ack: Ack, body: dict[str, Any]) -> None:
        """The count under the text follows what is typed."""
        ack()
        view = body.get("view") or {}
        text = _typed(view)
        try:
            meta = json.loads(str(view.get("private_metadata") or "{}"))
            with self.flow.sessions() as session:
                shown = card_at(session, str(meta.get("channel", "")), str(meta.get("ts", "")))
            if shown is None:
                return
            fresh = reply_modal(shown.card, text, channel=shown.channel, ts=shown.ts)
            self.flow.queue.update_view(str(view.get("id", "")), str(view.get("hash", "")), fresh)
        except (ValueError, HarkError) as err:  # a newer keystroke's update won (hash_conflict): nothing lost
            log.info("slack_modal_not_updated reason=%s", err)

    def send_reply(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The modal's Send: checked before the ack (so an error shows in the form), then sent once."""
        user_id = str((body.get("user") or {}).get("id", ""))
        text = _typed(view).strip()
        try:
            meta = json.loads(str(view.get("private_metadata") or "{}"))
            mention_id = int(meta["mention_id"])
        except (ValueError, KeyError, TypeError):
            ack(
                response_action="errors", errors={REPLY_INPUT[0]: "Hark cannot tell which post this answers."}
            )
            return
        with self.flow.sessions() as session:
            shown = card_at(session, str(meta.get("channel", "")), str(meta.get("ts", "")))
        platform = shown.card.platform if shown is not None else None
        problem = None
        if not self.flow.senders.allows(user_id):
            problem = NOT_A_SENDER
        elif shown is None or platform is None or shown.card.mention_id != mention_id:
            problem = "Hark does not know the card of this post any more."
        elif not text:
            problem = "Write the reply first."
        else:
            spec = get_platform(platform)
            if spec.reply_length(text) > spec.reply_limit:
                problem = f"Too long: {reply_length_line(platform, text)}."
        if problem is not None:
            ack(response_action="errors", errors={REPLY_INPUT[0]: problem})
            return
        ack()
        click = Click(
            user_id, str(meta.get("channel", "")), str(meta.get("ts", "")), f"view:{view.get('id')}"
        )

        def change(session: so.Session) -> tuple[int, Outcome]:
            return case_of_mention(session, mention_id).id, send_from_card(
                session, mention_id, text, by=click.who
            )

        done = self.flow.apply(click, change, "send this reply")
        if done is not None:
            case_id, outcome = done
            log.info(
                "reply_written_in_slack mention=%d changed=%s user=%s", mention_id, outcome.changed, user_id
            )
            self.flow.answer(
                click, case_id, outcome, [literal("approved the reply: "), literal(cut(text, 600)[0])]
            )

    def open_held(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A card picked from a burst's digest is posted now, ahead of the drain (once, whoever picks it)."""
        ack()
        click = clicked(body, action)
        choice = str((action.get("selected_option") or {}).get("value", ""))
        if not choice.isdigit():
            self.flow.tell(click, "Hark does not know that post.")
            return
        with self.flow.sessions.begin() as session:
            waiting = held_cards(session, 1, mention_id=int(choice))
            first, thread = claim_held_card(session, waiting[0]) if waiting else (False, None)
        if not first:
            self.flow.tell(click, "That card is posted already.")
            return
        shown = waiting[0]
        try:
            where = self.flow.queue.post_card(shown.card, thread=thread)
        except HarkError as err:
            self.flow.tell(
                click, f"Hark could not post that card now ({err}); it follows as the burst drains."
            )
            return
        with self.flow.sessions.begin() as session:
            record_held_card(session, shown, where, datetime.now(UTC))
        log.info("held_card_opened case=%d user=%s", shown.card.case_id, click.user_id)

    def thread_message(self, event: dict[str, Any]) -> None:
        """A message a person typed in a case's thread is an internal note of the case: kept, never sent."""
        if event.get("subtype") not in (None, "thread_broadcast") or event.get("bot_id"):
            return  # edits, deletions, joins and bots' messages (Hark's own history lines) are no notes
        thread, ts = str(event.get("thread_ts") or ""), str(event.get("ts") or "")
        if not thread or thread == ts:
            return
        author = f"slack:{event.get('user') or 'unknown'}"
        with self.flow.sessions.begin() as session:
            case_id = add_note(
                session,
                channel=str(event.get("channel") or ""),
                thread_ts=thread,
                ts=ts,
                author=author,
                text=str(event.get("text") or ""),
                at=datetime.now(UTC),
            )
        if case_id is not None:
            log.info("case_note_kept case=%d by=%s", case_id, author)


def register_review_actions(app: App, flow: CardWorkflow) -> None:
    """Wire every card control, and the cards' threads, to Hark."""
    controls = CardControls(flow)
    app.event("message")(controls.thread_message)
    app.action(re.compile(r"^(edit|write)_reply$"))(controls.open_reply)
    app.action(REPLY_INPUT[1])(controls.reply_length)
    app.view(REPLY_VIEW)(controls.send_reply)
    app.action(DIGEST_OPEN)(controls.open_held)
    app.action(RELABEL_ACTION)(controls.relabel)
    app.action(CASE_ACTION)(controls.change_case)
    app.action(re.compile(r"^snooze_(case|until)$"))(controls.snooze)
    app.action("approve_reply")(controls.approve)
    app.action("open_post")(controls.open_post)


def _typed(view: dict[str, Any]) -> str:
    """The reply's text as the modal holds it now."""
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get(REPLY_INPUT[0]) or {}).get(REPLY_INPUT[1]) or {}).get("value") or "")


def _mention_of(action: dict[str, Any]) -> int:
    value = str(action.get("value", ""))
    if not value.isdigit():
        raise ValueError(f"unexpected button value {escape_mrkdwn(value)!r}")
    return int(value)


def _case_id(session: so.Session, mention_id: int) -> int | None:
    try:
        return case_of_mention(session, mention_id).id
    except LookupError:
        return None


def _utc(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "later"
