"""`/hark` in Slack: a customer's 360° summary, search, stats, pause and resume, and the cases one holds.

Answers are ephemeral (only the asker sees them) and built of rich_text, so what customers wrote stays text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack
from sqlalchemy.exc import SQLAlchemyError

from hark.errors import HarkError
from platforms.registry import get_platform
from responders.slack_access import SlackAccess
from responders.slack_blocks import Block, bullets, cut, fallback, literal, person_element, rich
from store.cases import held_cases, open_case_stats
from store.config import CustomersConfig
from store.customers import find_customer
from store.db import Sessions
from store.mentions import search_mentions
from store.profiles import customer_view
from store.switches import pause_replies, replies_paused, resume_replies

log = logging.getLogger(__name__)

USAGE = (
    "/hark customer @handle | u/name | crm:ID — a customer's summary\n"
    "/hark search WORDS — recent mentions that say them\n"
    "/hark stats — open cases by status and SLA\n"
    "/hark mine — the cases you hold\n"
    "/hark pause [reason] / resume — stop or restart every reply Hark sends"
)
SEARCH_LIMIT = 10
LATEST = 3  # mentions in a customer's summary
NOT_A_PAUSER = (
    "You may not pause or resume replies. An admin can add you, or a user group of yours, to "
    "responders.queue.pausers."
)

Answer = list[Block]


def _day(iso: str | None) -> str:
    return (iso or "")[:10]


class HarkCommand:
    """The `/hark` slash command."""

    def __init__(self, sessions: Sessions, customers: CustomersConfig, pausers: SlackAccess) -> None:
        self._sessions = sessions
        self._customers = customers
        self._pausers = pausers
        self._verbs: dict[str, Callable[[str, str], Answer]] = {
            "customer": self.customer,
            "search": self.search,
            "stats": self.stats,
            "mine": self.mine,
            "pause": self.pause,
            "resume": self.resume,
        }

    def answer(self, ack: Ack, command: dict[str, Any]) -> None:
        user = str(command.get("user_id") or "")
        verb, _, rest = str(command.get("text") or "").strip().partition(" ")
        handler = self._verbs.get(verb.lower())
        try:
            blocks = handler(user, rest.strip()) if handler else [rich(literal(USAGE))]
        except HarkError as err:  # a customer not found, say: the asker is told, nothing else happens
            blocks = [rich(literal(str(err)))]
        except SQLAlchemyError as err:  # still answered within Slack's 3 s
            log.error("slack_command_failed verb=%s error=%s", verb.lower(), type(err).__name__)
            blocks = [rich(literal("Hark could not read its database just now; please try again."))]
        log.info("slack_command verb=%s user=%s", verb.lower() or "help", user)
        ack(response_type="ephemeral", text=fallback(_plain(blocks)), blocks=blocks)

    def customer(self, _user: str, ref: str) -> Answer:
        if not ref:
            return [rich(literal("Say whom: /hark customer @handle, u/name or crm:ID"))]
        with self._sessions() as session:
            view = customer_view(session, find_customer(session, ref), self._customers)
        person = view["customer"]
        if person["forgotten_at"]:
            return [
                rich(literal(f"Customer {person['id']} was forgotten on {_day(person['forgotten_at'])}."))
            ]
        title = person["name"] or f"Customer {person['id']}"
        facts = [person["tier"] or "no tier", *person["segments"]]
        accounts = ", ".join(
            f"{get_platform(i['platform']).display_handle(i['handle'])} ({get_platform(i['platform']).title})"
            for i in view["identities"]
        )
        open_cases = [c for c in view["cases"] if c["status"] != "resolved"]
        net = person["net_sentiment"]
        summary = (
            f"{len(view['mentions'])} mentions · net sentiment "
            f"{'n/a' if net is None else f'{net:+.2f}'} over {person['net_sentiment_days']} days · "
            f"{len(open_cases)} open cases · {len(view['leads'])} leads"
        )
        blocks: Answer = [
            rich(
                literal(title, bold=True),
                literal(f" · {', '.join(facts)}\n{accounts or 'no accounts'}\n{summary}"),
            )
        ]
        latest = view["mentions"][-LATEST:][::-1]
        if latest:
            blocks.append(rich(literal("Latest mentions", bold=True)))
            blocks.append(
                bullets(
                    [
                        [
                            literal(
                                f"{_day(m['created_at'])} {m['platform']} {m['intent']}/{m['sentiment']}: "
                            ),
                            literal(
                                cut(m["text"].replace("\n", " "), 200)[0] if not m["erased"] else "(erased)"
                            ),
                        ]
                        for m in latest
                    ]
                )
            )
        if open_cases:
            blocks.append(rich(literal("Open cases", bold=True)))
            blocks.append(bullets([_case_line(c) for c in open_cases]))
        return blocks

    def search(self, _user: str, words: str) -> Answer:
        if len(words) < 2:
            return [rich(literal("Say what to look for: /hark search WORDS (two characters at least)"))]
        with self._sessions() as session:
            found = search_mentions(session, words, SEARCH_LIMIT)
            items = [
                [
                    literal(f"{row.created_at:%Y-%m-%d} "),
                    literal(get_platform(row.platform).display_handle(row.author_handle), bold=True),
                    literal(f": {cut(row.text.replace(chr(10), ' '), 200)[0]} "),
                    {"type": "link", "url": row.url, "text": "open"},
                ]
                for row in found
                if row.url
            ]
        if not items:
            return [rich(literal(f"No mention says {words!r}."))]
        return [
            rich(literal(f"The {len(items)} newest mentions that say {words!r}", bold=True)),
            bullets(items),
        ]

    def stats(self, _user: str, _rest: str) -> Answer:
        with self._sessions() as session:
            stats = open_case_stats(session, datetime.now(UTC))
            paused = replies_paused(session)
        statuses = stats["status"]
        sla = stats["sla"]
        total = sum(statuses.values())
        lines = [
            f"Open cases: {total}"
            + (f" ({', '.join(f'{s} {n}' for s, n in sorted(statuses.items()))})" if total else ""),
            f"First response: {sla['overdue']} overdue, {sla['due_soon']} due within the hour, "
            f"{sla['on_time']} on time, {sla['answered']} answered, {sla['no_sla']} without an SLA",
            f"Replies: paused by {paused.by} since {paused.since:%Y-%m-%d %H:%M} UTC"
            if paused
            else "Replies: flowing",
        ]
        return [rich(literal("\n".join(lines)))]

    def mine(self, user: str, _rest: str) -> Answer:
        with self._sessions() as session:
            cases = held_cases(session, f"slack:{user}")
            items = [_case_line(_case_doc(c)) for c in cases]
        if not items:
            return [rich(literal("You hold no open case."))]
        return [rich(literal(f"You hold {len(items)} open cases", bold=True)), bullets(items)]

    def pause(self, user: str, reason: str) -> Answer:
        if not self._pausers.allows(user):
            return [rich(literal(NOT_A_PAUSER))]
        with self._sessions.begin() as session:
            paused = pause_replies(session, by=f"slack:{user}", reason=reason or None)
        log.warning("replies_paused_in_slack user=%s", user)
        return [rich(literal("Replies are paused"), literal(" by "), person_element(paused.by), literal("."))]

    def resume(self, user: str, _rest: str) -> Answer:
        if not self._pausers.allows(user):
            return [rich(literal(NOT_A_PAUSER))]
        with self._sessions.begin() as session:
            was = resume_replies(session, by=f"slack:{user}")
        return [
            rich(
                literal(
                    "Replies flow again: what waited is sent once." if was else "Replies were not paused."
                )
            )
        ]


def _case_doc(case: Any) -> dict[str, Any]:
    due = case.sla_due_at if case.first_response_at is None else None
    return {
        "id": case.id,
        "platform": case.platform,
        "status": case.status,
        "assignee": case.assignee,
        "sla_due_at": due.isoformat() if due else None,
    }


def _case_line(case: dict[str, Any]) -> list[dict[str, Any]]:
    line = [literal(f"#{case['id']} on {case['platform']}: {case['status']}")]
    if case.get("assignee"):
        line += [literal(", held by "), person_element(case["assignee"])]
    if case.get("sla_due_at") and case.get("first_response_at") is None:
        line.append(literal(f", first response due {str(case['sla_due_at'])[:16].replace('T', ' ')} UTC"))
    return line


def _plain(blocks: Answer) -> str:
    """The words of an answer, for its notification text."""
    words: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                words.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return " ".join(words)
