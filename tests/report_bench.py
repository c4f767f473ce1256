"""Seed a realistic store for the weekly-report benchmark, and time `hark report weekly` on it.

    .venv/bin/python -m tests.report_bench seed --db sqlite:////tmp/bench_1m.db --mentions 1000000 --weeks 26
    .venv/bin/python -m tests.report_bench time --db sqlite:////tmp/bench_1m.db --week 2026-W48 \
        --config config.yaml

`seed` writes into an empty store (it creates the schema): customers and their identities, some of them
forgotten; mentions over `--weeks` weeks up to `--end` (00:00 UTC, exclusive), more by day than by night and
more on weekdays; one classification each; a few label corrections; embeddings of complaints and support
questions; cases for the queued mentions; leads for buying signals. Every row comes from random.Random(7)
(and numpy's generator seeded with 7 for the embeddings), so two seeds of one size hold the same store. It
inserts in chunks with SQLAlchemy Core's executemany, or with COPY on PostgreSQL, and prints one JSON
document: mentions, seconds, database.

`time` runs the CLI once as a child process and prints its wall seconds and peak RSS as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from classifiers.scoring import base_priority
from hark.records import INTENTS, SENTIMENTS
from store.customers import FORGOTTEN, erasure_key, name_key
from store.db import make_engine, upgrade
from store.leads import products_named
from store.models import Base

SEED = 7
TABLES = Base.metadata.tables
CUSTOMERS, IDENTITIES, CASES = TABLES["customers"], TABLES["identities"], TABLES["cases"]
MENTIONS, CLASSIFICATIONS, CORRECTIONS = (
    TABLES["mentions"],
    TABLES["classifications"],
    TABLES["label_corrections"],
)
VECTORS, LEADS = TABLES["mention_vectors"], TABLES["leads"]
CHUNK = 20_000  # mentions per transaction; each table's rows of a chunk go in one executemany
MODEL = "bench-1"
DIM = 384
NOISE = 0.35  # an embedding is normalised(centroid + NOISE * noise), the noise about unit length
PRODUCTS = ("Stratus", "Cirrus", "Halo", "battery pack", "rear rack")
BIKES = ("Stratus", "Cirrus", "Halo")
VECTOR_INTENTS = frozenset({"complaint", "support_question"})
# the share of a relevant intent the team gets as a case (queued): about 8% of all mentions
QUEUE_SHARE = {"complaint": 0.25, "churn_risk": 0.5, "support_question": 0.18, "purchase_intent": 0.05}
VIP_BOOST = 20  # customers.priority_boost["vip"]
FIRST_RESPONSE = timedelta(minutes=240)  # sla.first_response_minutes, and the VIP one below
VIP_FIRST_RESPONSE = timedelta(minutes=30)
RESOLUTION = timedelta(minutes=2880)
VIP_RESOLUTION = timedelta(minutes=480)
FORGOTTEN_SHARE = 0.01
CRM_SHARE = 0.5  # customers imported from the CRM (email, tier, value); the rest were made by linking
VIP_SHARE_OF_CRM = 0.1  # about 5% of all customers
CORRECTION_SHARE = 0.005
SCORE_POOL = 2048
AGENTS = tuple(f"slack:U0BENCH{n:02d}" for n in range(1, 7))
# UTC hour of day and weekday (Monday first): more by day than by night, fewer at the weekend
HOURLY = (
    *(0.35, 0.25, 0.18, 0.14, 0.13, 0.16, 0.3, 0.55, 0.8, 0.95, 1.0, 1.0),
    *(1.05, 1.05, 1.0, 1.0, 1.05, 1.1, 1.15, 1.1, 0.95, 0.8, 0.65, 0.5),
)
WEEKDAY = (1.05, 1.1, 1.1, 1.05, 1.0, 0.8, 0.75)

FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chloe",
    "Dario",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
    "Mara",
    "Nils",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Lucia",
    "Mateo",
    "Freya",
    "Omar",
)
LAST_NAMES = (
    "Fernandez",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Novak",
    "Kowalski",
    "Jensen",
    "Silva",
    "Yilmaz",
    "Nakamura",
    "Okafor",
    "Larsen",
    "Moreau",
    "Weber",
    "Costa",
    "Haddad",
    "Lindqvist",
    "Brennan",
    "Petrov",
    "Santos",
    "Keller",
    "Ivanova",
    "Murphy",
    "Tanaka",
    "Horvat",
    "Bauer",
    "Laine",
    "Ortiz",
    "Fischer",
    "Varga",
)
CITIES = (
    "Berlin",
    "Leeds",
    "Lyon",
    "Utrecht",
    "Portland",
    "Toronto",
    "Melbourne",
    "Gdansk",
    "Bologna",
    "Austin",
)
COUNTRIES = ("Canada", "Australia", "Norway", "Japan", "Brazil", "Ireland", "Poland", "Mexico", "Portugal")
COMPETITORS = ("VanMoof", "Cowboy", "Rad Power", "Brompton Electric", "Ampler")
FEATURES = ("ride stats export", "dark mode", "a theft alarm", "Apple Health sync", "route sharing")
PLACES = ("train station", "farmers market", "office bike rack", "ferry", "school gate")
SEGMENTS = ("commuter", "family", "fleet", "dealer")
DOMAINS = ("example.com", "example.org", "mail.example", "post.example", "company.example")


@dataclass(frozen=True)
class Topic:
    """What a post is about, and the labels a good classifier gives it."""

    template: str
    intent: str
    sentiment: str
    weight: float
    relevant: bool = True
    fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(name for _, name, _, _ in string.Formatter().parse(self.template) if name)
        object.__setattr__(self, "fields", names)


TOPICS = (
    Topic("my Nimbus {bike} battery died after {n} km", "complaint", "negative", 0.04),
    Topic(
        "Nimbus support still hasn't answered my ticket about the {product}, {days} days now",
        "complaint",
        "negative",
        0.03,
    ),
    Topic("my {product} order from Nimbus arrived with a scratched frame", "complaint", "negative", 0.025),
    Topic("the Nimbus app update drains my phone and the {bike} won't pair", "complaint", "negative", 0.025),
    Topic("@NimbusHelp the {bike} brakes squeal after {n} km, not happy", "complaint", "negative", 0.02),
    Topic(
        "@NimbusHelp how do I reset the {bike} app? it keeps asking to pair",
        "support_question",
        "neutral",
        0.05,
    ),
    Topic("how do I fit the Nimbus rear rack on a {bike}?", "support_question", "neutral", 0.03),
    Topic(
        "is the Nimbus {bike} waterproof? riding in {city} rain every day",
        "support_question",
        "neutral",
        0.03,
    ),
    Topic(
        "what tyre pressure for the Nimbus {bike} with the battery pack?", "support_question", "neutral", 0.03
    ),
    Topic("when will the Nimbus {bike} ship to {country}?", "purchase_intent", "neutral", 0.03),
    Topic(
        "thinking about buying a Nimbus {bike}, is it worth it for a {n} km commute?",
        "purchase_intent",
        "neutral",
        0.03,
    ),
    Topic("Nimbus {bike} vs {competitor}: which one for {n} km a day?", "purchase_intent", "neutral", 0.02),
    Topic("love my new Nimbus {bike}! {n} km this week and still grinning", "praise", "positive", 0.08),
    Topic("shoutout to Nimbus support, fixed my {product} in {minutes} minutes", "praise", "positive", 0.05),
    Topic("the Nimbus {product} is the best thing I bought this year", "praise", "positive", 0.05),
    Topic("would love a Nimbus {bike} with a bigger battery pack", "feature_request", "neutral", 0.03),
    Topic("please add {feature} to the Nimbus app", "feature_request", "neutral", 0.03),
    Topic(
        "done with Nimbus. returning my {bike} and going back to my old bike", "churn_risk", "negative", 0.015
    ),
    Topic(
        "if the {bike} firmware isn't fixed this week I'm cancelling my Nimbus order",
        "churn_risk",
        "negative",
        0.015,
    ),
    Topic("50% OFF Nimbus {product} replicas!!! dm for promo {link}", "spam", "neutral", 0.05),
    Topic("free crypto airdrop for Nimbus {bike} riders, claim at {link}", "spam", "positive", 0.05),
    Topic("saw a Nimbus {bike} at the {place} today", "other", "neutral", 0.08),
    Topic("Nimbus {bike} range test: {n} km on one charge", "other", "neutral", 0.06),
    Topic("anyone riding a Nimbus {bike} in {city}? group ride on Sunday", "other", "positive", 0.05),
    Topic("that cumulonimbus over {city} this evening", "other", "neutral", 0.02, relevant=False),
    Topic("nimbus 2000 replica for the {place} costume party", "other", "positive", 0.015, relevant=False),
    Topic("nimbus vpn keeps dropping on my laptop again", "other", "negative", 0.015, relevant=False),
)


def _unit(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = (vectors / norms).astype(np.float32)
    return unit


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
        if not value:
            return out


@dataclass
class Author:
    platform: str
    user_id: str
    handle: str
    name: str
    followers: int
    verified: bool
    bio: str | None
    url: str
    customer_id: int | None  # None: an author nobody links (spam and noise)
    crm: bool = False
    vip: bool = False
    forgotten_at: datetime | None = None


@dataclass
class Chunk:
    """One transaction's rows, parents first."""

    tables: list[tuple[sa.Table, list[dict[str, Any]]]]


class Seeder:
    """Draws the whole store up front where rows depend on each other (who posts when, who is forgotten
    after their last post), then yields it a chunk of mentions at a time."""

    def __init__(self, mentions: int, customers: int, weeks: int, end: datetime) -> None:
        self.rng = random.Random(SEED)  # noqa: S311  # test data, not secrets
        self.np_rng = np.random.default_rng(SEED)
        self.n = mentions
        self.end = end
        self.start = end - timedelta(weeks=weeks)
        self.centroids = _unit(self.np_rng.standard_normal((len(TOPICS), DIM), dtype=np.float32))
        self.times = self._times(mentions, weeks)
        topic_weights = list(accumulate(t.weight for t in TOPICS))
        self.topics = self.rng.choices(range(len(TOPICS)), cum_weights=topic_weights, k=mentions)
        self.customers = [self._customer_author(c) for c in range(1, customers + 1)]
        self.strangers = [self._stranger(s) for s in range(1, max(100, customers // 5) + 1)]
        # some customers post much more than others
        activity = list(accumulate(self.rng.paretovariate(1.2) for _ in self.customers))
        self.authors: list[Author] = []
        first: dict[int, float] = {}
        last: dict[int, float] = {}
        for i, topic_index in enumerate(self.topics):
            topic = TOPICS[topic_index]
            if topic.relevant and topic.intent != "spam":
                total = activity[-1]
                author = self.customers[bisect_right(activity, self.rng.random() * total)]
                cid = author.customer_id or 0
                first.setdefault(cid, self.times[i])
                last[cid] = self.times[i]
            else:
                author = self.rng.choice(self.strangers)
            self.authors.append(author)
        self.customer_rows, self.identity_rows = self._customer_rows(first, last)
        self.case_id = self.lead_id = self.correction_id = 0
        self.score_pools: dict[str, list[dict[str, float]]] = {}

    # --- who and when -------------------------------------------------------------------------------

    def _times(self, n: int, weeks: int) -> list[float]:
        """Epoch seconds, sorted: by hour of day and weekday, growing a little over the weeks."""
        hours = weeks * 7 * 24
        weights = []
        for h in range(hours):
            at = self.start + timedelta(hours=h)
            trend = 0.85 + 0.3 * h / hours
            weights.append(HOURLY[at.hour] * WEEKDAY[at.weekday()] * trend)
        cum = list(accumulate(weights))
        base = self.start.timestamp()
        picks = self.rng.choices(range(hours), cum_weights=cum, k=n)
        return sorted(base + 3600 * (h + self.rng.random()) for h in picks)

    def _customer_author(self, c: int) -> Author:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        crm = rng.random() < CRM_SHARE
        if rng.random() < 0.7:
            handle = f"{first.lower()}{last[:3].lower()}{c}"
            author = Author("x", str(1_600_000_000_000 + c), handle, f"{first} {last}", 0, False, None, "", c)
            author.url = f"https://x.com/{handle}"
        else:
            handle = f"{first.lower()}_{last.lower()}_{c}"
            author = Author("reddit", f"t2_{_base36(40_000_000 + c)}", handle, handle, 0, False, None, "", c)
            author.url = f"https://www.reddit.com/user/{handle}"
        author.followers = min(2_000_000, int(rng.lognormvariate(5.0, 1.6)))
        author.verified = rng.random() < 0.02
        author.bio = f"e-bike commuter in {rng.choice(CITIES)}" if rng.random() < 0.6 else None
        author.crm = crm
        author.vip = crm and rng.random() < VIP_SHARE_OF_CRM
        return author

    def _stranger(self, s: int) -> Author:
        rng = self.rng
        if rng.random() < 0.7:
            handle = f"deals{s}x{rng.randrange(1000)}"
            return Author(
                "x", str(1_700_000_000_000 + s), handle, handle, rng.randrange(5000), False, None, "", None
            )
        handle = f"throwaway_{s}_{rng.randrange(1000)}"
        return Author("reddit", f"t2_{_base36(90_000_000 + s)}", handle, handle, 0, False, None, "", None)

    def _customer_rows(
        self, first: dict[int, float], last: dict[int, float]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng, end = self.rng, self.end
        customers, identities = [], []
        for author in self.customers:
            cid = author.customer_id or 0
            posted = cid in first
            crm = author.crm or not posted  # a customer who never posted came from the CRM
            if posted:
                linked = self._at(first[cid] + 60)
                created = self._at(self.start.timestamp() - rng.uniform(30, 700) * 86400) if crm else linked
                updated = max(created, self._at(last[cid] + 60))
            else:
                created = updated = self._at(self.start.timestamp() - rng.uniform(30, 700) * 86400)
            crm_id = f"BENCH-{cid:07d}"
            name = author.name if crm or author.platform == "x" else author.handle
            row: dict[str, Any] = {
                "id": cid,
                "name": name,
                "email": f"{author.handle}@{rng.choice(DOMAINS)}" if crm else None,
                "phone": f"+1-555-{cid % 10000:04d}" if crm else None,
                "segment": rng.choice(SEGMENTS) if crm else None,
                "tier": ("VIP" if author.vip else "standard") if crm else None,
                "lifetime_value": round(rng.uniform(500, 50000), 2) if crm else None,
                "external_crm_id": crm_id if crm else None,
                "created_at": created,
                "updated_at": updated,
                "forgotten_at": None,
                "name_key": name_key(name),
                "email_domain": None,
                "erasure_key": None,
            }
            if row["email"]:
                row["email_domain"] = row["email"].rsplit("@", 1)[1]
            if rng.random() < FORGOTTEN_SHARE:  # erased on request after their last post: no identity left
                after = last.get(
                    cid, self.start.timestamp() + rng.uniform(0, 0.8) * (end - self.start).total_seconds()
                )
                forgotten = min(end - timedelta(minutes=1), self._at(after + rng.uniform(3600, 14 * 86400)))
                author.forgotten_at = forgotten = max(forgotten, created)
                for key in ("name", "email", "phone", "segment", "tier", "lifetime_value", "external_crm_id"):
                    row[key] = None
                row.update(
                    name_key=None,
                    email_domain=None,
                    erasure_key=erasure_key(crm_id) if crm else None,
                    forgotten_at=forgotten,
                    updated_at=forgotten,
                )
                customers.append(row)
                continue
            customers.append(row)
            identities.append(
                {
                    "id": cid,
                    "platform": author.platform,
                    "platform_user_id": author.user_id if posted else None,  # an imported handle waits
                    "handle": author.handle,
                    "handle_key": author.handle.lower(),
                    "display_name": author.name if posted else None,
                    "followers": author.followers if posted else None,
                    "verified": author.verified,
                    "bio": author.bio,
                    "profile_url": author.url if posted else None,
                    "customer_id": cid,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
        return customers, identities

    def _at(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, UTC)

    # --- what ---------------------------------------------------------------------------------------

    def _text(self, topic: Topic) -> str:
        rng = self.rng
        values: dict[str, Any] = {}
        for name in topic.fields:
            match name:
                case "bike":
                    values[name] = rng.choice(BIKES)
                case "product":
                    values[name] = rng.choice(PRODUCTS)
                case "n":
                    values[name] = rng.randrange(3, 4000)
                case "days":
                    values[name] = rng.randrange(2, 30)
                case "minutes":
                    values[name] = rng.randrange(5, 90)
                case "city":
                    values[name] = rng.choice(CITIES)
                case "country":
                    values[name] = rng.choice(COUNTRIES)
                case "competitor":
                    values[name] = rng.choice(COMPETITORS)
                case "feature":
                    values[name] = rng.choice(FEATURES)
                case "place":
                    values[name] = rng.choice(PLACES)
                case "link":
                    values[name] = f"https://promo{rng.randrange(100)}.example/nimbus"
        return topic.template.format_map(values)

    def _scores(self, intent: str) -> dict[str, float]:
        """The intent head's scores: one of a pool drawn once per intent (drawing each is a third of the
        seed's time). Rows share the dict: it is only serialised."""
        pool = self.score_pools.get(intent)
        if pool is None:
            pool = self.score_pools[intent] = [self._draw_scores(intent) for _ in range(SCORE_POOL)]
        return pool[self.rng.randrange(SCORE_POOL)]

    def _draw_scores(self, intent: str) -> dict[str, float]:
        rng = self.rng
        top = rng.uniform(0.45, 0.97)
        others = [i for i in INTENTS if i != intent]
        weights = [rng.random() for _ in others]
        total = sum(weights)
        scores: dict[str, float] = {
            i: round((1 - top) * w / total, 4) for i, w in zip(others, weights, strict=True)
        }
        scores[intent] = round(top, 4)
        return scores

    # --- chunks -------------------------------------------------------------------------------------

    def chunks(self) -> Iterator[Chunk]:
        yield Chunk([(CUSTOMERS, self.customer_rows), (IDENTITIES, self.identity_rows)])
        for lo in range(0, self.n, CHUNK):
            yield self._chunk(lo, min(self.n, lo + CHUNK))

    def _chunk(self, lo: int, hi: int) -> Chunk:  # noqa: PLR0915  # one row of each table, in order
        rng, end = self.rng, self.end
        last = end - timedelta(seconds=1)
        cases: list[dict[str, Any]] = []
        mentions: list[dict[str, Any]] = []
        labels: list[dict[str, Any]] = []
        corrections: list[dict[str, Any]] = []
        leads: list[dict[str, Any]] = []
        vector_ids: list[int] = []
        vector_topics: list[int] = []
        for i in range(lo, hi):
            mid = i + 1
            topic_index = self.topics[i]
            topic, author = TOPICS[topic_index], self.authors[i]
            created = self._at(self.times[i])
            fetched = min(last, created + timedelta(seconds=rng.uniform(20, 300)))
            classified = min(last, fetched + timedelta(seconds=rng.uniform(1, 30)))
            linked = routed = classified
            text = self._text(topic)
            reply = rng.random() < 0.35
            if author.platform == "x":
                external_id = str(1_800_000_000_000_000_000 + mid)
                root = str(1_790_000_000_000_000_000 + mid) if reply else external_id
                url = f"https://x.com/{author.handle}/status/{external_id}"
                source, brand_account = "x-mentions", "@NimbusHelp" in text or rng.random() < 0.3
            else:
                external_id = f"t1_{_base36(10**9 + mid)}" if reply else f"t3_{_base36(10**9 + mid)}"
                root = f"t3_{_base36(2 * 10**9 + mid)}" if reply else external_id
                url = f"https://www.reddit.com/r/NimbusCycles/comments/{root[3:]}/"
                source, brand_account = "reddit-sub", False
            relevant = topic.relevant
            intent = topic.intent
            customer_id = author.customer_id
            queued = customer_id is not None and relevant and rng.random() < QUEUE_SHARE.get(intent, 0.0)
            sentiment_score = round(rng.uniform(0.55, 0.99), 4)
            priority = base_priority(
                intent=intent,
                sentiment=topic.sentiment,  # type: ignore[arg-type]  # one of SENTIMENTS
                sentiment_score=sentiment_score,
                followers=author.followers,
                relevant=relevant,
            )
            scores = self._scores(intent)
            if not relevant:
                action, rule = "ignore", "drop noise"
            elif intent == "spam":
                action, rule = "ignore", "drop spam"
            elif queued:
                action, rule = "queue", "default"
            elif intent == "praise":
                action, rule = "auto_reply", "thank praise"
            else:
                action, rule = "ignore", "nothing to answer"
            case_id = None
            if queued:
                self.case_id += 1
                case_id = self.case_id
                cases.append(
                    self._case(
                        case_id,
                        author,
                        conversation_id=root,
                        opened=created,
                        linked=linked,
                        priority=priority,
                        intent=intent,
                    )
                )
            forgotten = author.forgotten_at is not None
            mentions.append(
                {
                    "id": mid,
                    "platform": author.platform,
                    "external_id": external_id,
                    "source": source,
                    "kind": "reply" if reply else "post",
                    "author_user_id": FORGOTTEN if forgotten else author.user_id,
                    "author_handle": FORGOTTEN if forgotten else author.handle,
                    "author_name": None if forgotten else author.name,
                    "author_followers": None if forgotten else author.followers,
                    "author_verified": False if forgotten else author.verified,
                    "author_description": None if forgotten else author.bio,
                    "author_url": None if forgotten else author.url,
                    "text": "" if forgotten else text,
                    "url": "" if forgotten else url,
                    "language": "en",
                    "conversation_id": root,
                    "in_reply_to": root if reply else None,
                    "mentions_brand_account": brand_account,
                    "created_at": created,
                    "fetched_at": fetched,
                    "raw": {},
                    "classified_at": classified,
                    "linked_at": linked,
                    "routed_at": routed,
                    "route_action": action,
                    "route_rule": rule,
                    "identity_id": None if forgotten or customer_id is None else customer_id,
                    "customer_id": customer_id,
                    "case_id": case_id,
                    "erased_at": author.forgotten_at,
                }
            )
            labels.append(
                {
                    "id": mid,
                    "mention_id": mid,
                    "model_version": MODEL,
                    "language": "en",
                    "relevant": relevant,
                    "sentiment": topic.sentiment,
                    "sentiment_score": sentiment_score,
                    "intent": intent,
                    "intent_scores": scores,
                    "needs_reply": queued,
                    "priority": priority,
                    "created_at": classified,
                }
            )
            if rng.random() < CORRECTION_SHARE:
                self.correction_id += 1
                fld = rng.choice(("sentiment", "intent"))
                old = topic.sentiment if fld == "sentiment" else intent
                choices = SENTIMENTS if fld == "sentiment" else INTENTS
                corrections.append(
                    {
                        "id": self.correction_id,
                        "mention_id": mid,
                        "field": fld,
                        "old_value": old,
                        "new_value": rng.choice([c for c in choices if c != old]),
                        "corrected_by": "cli:bench",
                        "created_at": min(last, classified + timedelta(hours=rng.uniform(1, 72))),
                    }
                )
            if intent in VECTOR_INTENTS and not forgotten:  # a forgotten post's embedding went with its text
                vector_ids.append(mid)
                vector_topics.append(topic_index)
            if intent == "purchase_intent" and customer_id is not None:
                self.lead_id += 1
                named = products_named(text, PRODUCTS)  # before any erasure: the lead keeps it
                leads.append(
                    {
                        "id": self.lead_id,
                        "customer_id": customer_id,
                        "mention_id": mid,
                        "score": scores["purchase_intent"],
                        "product_interest": ", ".join(named) or None,
                        "status": "new",
                        "created_at": linked,
                        "updated_at": linked,
                        "signals": 1,
                        "last_mention_id": mid,
                    }
                )
        vectors = self._vectors(vector_ids, vector_topics)
        return Chunk(
            [
                (CASES, cases),
                (MENTIONS, mentions),
                (CLASSIFICATIONS, labels),
                (CORRECTIONS, corrections),
                (VECTORS, vectors),
                (LEADS, leads),
            ]
        )

    def _case(
        self,
        case_id: int,
        author: Author,
        *,
        conversation_id: str,
        opened: datetime,
        linked: datetime,
        priority: int,
        intent: str,
    ) -> dict[str, Any]:
        rng, end = self.rng, self.end
        vip = author.vip
        if vip:
            priority = min(100, priority + VIP_BOOST)
        first_response: datetime | None = None
        resolved: datetime | None = None
        if rng.random() < 0.85:
            typical = 1200 if vip else 7200  # seconds: about 20 minutes for a VIP, 2 hours otherwise
            first_response = opened + timedelta(seconds=rng.lognormvariate(math.log(typical), 0.9))
            if rng.random() < 0.97:
                resolved = first_response + timedelta(seconds=rng.lognormvariate(math.log(6 * 3600), 1.0))
        elif rng.random() < 0.9:  # closed without an answer (a duplicate, answered elsewhere)
            resolved = opened + timedelta(seconds=rng.lognormvariate(math.log(12 * 3600), 1.0))
        if first_response is not None and first_response >= end:
            first_response = resolved = None
        if resolved is not None and resolved >= end:
            resolved = None
        status = "resolved" if resolved else "claimed" if first_response else rng.choice(("new", "claimed"))
        return {
            "id": case_id,
            "platform": author.platform,
            "conversation_id": conversation_id,
            "customer_id": author.customer_id,
            "status": status,
            "priority": priority,
            "escalated": intent == "churn_risk",
            "assignee": rng.choice(AGENTS) if status != "new" else None,
            "slack_channel": None,
            "slack_ts": None,
            "opened_at": opened,
            "updated_at": max(t for t in (opened, linked, first_response, resolved) if t is not None),
            "sla_due_at": opened + (VIP_FIRST_RESPONSE if vip else FIRST_RESPONSE),
            "first_response_at": first_response,
            "resolved_at": resolved,
            "snoozed_until": None,
            "resolution_due_at": opened + (VIP_RESOLUTION if vip else RESOLUTION),
            "sla_set_at": linked,
        }

    def _vectors(self, ids: list[int], topics: list[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        noise = self.np_rng.standard_normal((len(ids), DIM), dtype=np.float32) * np.float32(
            NOISE / math.sqrt(DIM)
        )
        vectors = _unit(self.centroids[np.asarray(topics)] + noise).astype("<f4")
        return [
            {"mention_id": mid, "model_version": MODEL, "vector": vectors[k].tobytes()}
            for k, mid in enumerate(ids)
        ]


# --- writing ----------------------------------------------------------------------------------------

Writer = Callable[[sa.Connection, sa.Table, list[dict[str, Any]]], None]


def core_writer(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(table.insert(), rows)


def copy_writer(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY through psycopg: JSON columns go as their text, the rest as psycopg adapts them."""
    if not rows:
        return
    names = list(rows[0])
    as_json = {n for n in names if isinstance(table.c[n].type, sa.JSON)}
    columns = ", ".join(f'"{n}"' for n in names)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[n]) if n in as_json else row[n] for n in names])


def _prepare(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":  # speed only: a crash mid-seed means seeding again
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
        conn.exec_driver_sql("PRAGMA temp_store=MEMORY")


def _finish(conn: sa.Connection, tables: Sequence[sa.Table]) -> None:
    """PostgreSQL: move each id sequence past the ids given here, and gather planner statistics (as
    autovacuum would on a live store)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        if "id" in table.c:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608  # our own tables
                f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
            )
    conn.commit()
    conn.exec_driver_sql("ANALYZE")
    conn.commit()


def seed(args: argparse.Namespace) -> int:
    engine = make_engine(args.db)
    upgrade(engine)
    with engine.connect() as conn:
        existing = conn.execute(sa.select(sa.func.count()).select_from(MENTIONS)).scalar_one()
    if existing:
        sys.stderr.write(f"the store already has {existing} mentions: seed an empty database\n")
        return 1
    started = time.monotonic()
    end = datetime.combine(args.end, datetime.min.time(), UTC)
    seeder = Seeder(args.mentions, args.customers or max(500, args.mentions // 20), args.weeks, end)
    dialect = engine.dialect.name
    method = args.method or ("copy" if dialect == "postgresql" else "core")
    if method == "copy" and dialect != "postgresql":
        sys.stderr.write("--method copy needs PostgreSQL\n")
        return 1
    writer: Writer = copy_writer if method == "copy" else core_writer
    written: set[sa.Table] = set()
    with engine.connect() as conn:
        _prepare(conn)
        conn.commit()
        for chunk in seeder.chunks():
            for table, rows in chunk.tables:
                writer(conn, table, rows)
                written.add(table)
            conn.commit()
        _finish(conn, sorted(written, key=lambda t: t.name))
    engine.dispose()
    seconds = time.monotonic() - started
    print(  # noqa: T201  # the benchmark's output
        json.dumps({"mentions": args.mentions, "seconds": round(seconds, 1), "db": dialect, "method": method})
    )
    return 0


# --- timing the report ------------------------------------------------------------------------------


def _hark() -> str:
    beside = Path(sys.executable).with_name("hark")  # the venv's own entry point
    return str(beside) if beside.exists() else "hark"


def time_report(args: argparse.Namespace) -> int:
    dialect = sa.engine.make_url(args.db).get_backend_name()
    env = {**os.environ, "HARK_DATABASE_URL": args.db, "HARK_CONFIG": str(args.config)}
    with tempfile.TemporaryDirectory(prefix="report-bench-") as out:
        command = [_hark(), "report", "weekly", "--week", args.week, "--out", out, "--json"]
        started = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
    # the largest resident set of any child waited for (the CLI, or a process it ran), KiB on Linux
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(  # noqa: T201  # the benchmark's output
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(peak_kib / 1024, 1),
                "db": dialect,
                "week": args.week,
                "exit": done.returncode,
            }
        )
    )
    if done.returncode != 0:
        sys.stderr.write("\n".join(done.stderr.splitlines()[-30:]) + "\n")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed", help="fill an empty store")
    seeding.add_argument("--db", required=True, help="a database URL, as HARK_DATABASE_URL takes it")
    seeding.add_argument("--mentions", type=int, default=1_000_000)
    seeding.add_argument("--weeks", type=int, default=26)
    seeding.add_argument(
        "--end", type=date.fromisoformat, default=date(2026, 11, 30), help="00:00 UTC, exclusive"
    )
    seeding.add_argument("--customers", type=int, help="default: one per 20 mentions")
    seeding.add_argument("--method", choices=("core", "copy"), help="default: copy on PostgreSQL, else core")
    timing = commands.add_parser("time", help="time `hark report weekly` on a seeded store")
    timing.add_argument("--db", required=True)
    timing.add_argument("--week", required=True, help="an ISO week, 2026-W48")
    timing.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    return seed(args) if args.command == "seed" else time_report(args)


if __name__ == "__main__":
    sys.exit(main())
