"""The customer view, merge and forget over a replay of the whole sample, on SQLite and PostgreSQL.

The sample is replayed once per database; each test gets its own copy (a file copy on SQLite,
CREATE DATABASE ... TEMPLATE on PostgreSQL), so the tests stay fast and independent.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.config import AppConfig, load_config
from app.runner import run_once
from store.crm_import import import_customers_csv
from store.customers import CustomerNotFoundError, MergeError, find_customer
from store.db import Sessions, make_engine, make_sessions, upgrade
from store.merges import merge_customers
from store.models import AuditLogRow, Base, CustomerRow, IdentityRow, MentionRow
from store.privacy import forget_customer, forget_mention
from store.profiles import customer_view
from store.replies import queue_reply
from store.status import pipeline_status
from tests.app.test_pipeline import make_runtime
from tests.conftest import PG_ENV, REPO
from tests.fakes import RecordingQueue, RecordingReplier

AS_OF = datetime(2026, 11, 21, tzinfo=UTC)  # the day after the sample ends


def _admin() -> sa.Engine:
    url = os.environ[PG_ENV].replace("postgresql://", "postgresql+psycopg://", 1)
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def replayed_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of a database holding one full pass over the sample; never used directly by a test."""
    cfg = load_config(REPO / "config.yaml")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('replay') / 'template.db'}"
        drop = None
    else:
        if not os.environ.get(PG_ENV):
            pytest.skip(f"{PG_ENV} not set")
        name = f"hark_tpl_{uuid.uuid4().hex[:12]}"
        with _admin().connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(os.environ[PG_ENV]).set(database=name).render_as_string(hide_password=False)
        drop = name
    engine = make_engine(url)
    upgrade(engine)
    run_once(make_runtime(cfg, make_sessions(engine), RecordingQueue(), RecordingReplier()))
    engine.dispose()
    yield url
    if drop:
        with _admin().connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))


@pytest.fixture
def replayed(replayed_template: str, tmp_path: Path) -> Iterator[Sessions]:
    """A private copy of the replayed database."""
    url = sa.engine.make_url(replayed_template)
    drop = None
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        copy = tmp_path / "replayed.db"
        shutil.copy(url.database, copy)
        target = f"sqlite:///{copy}"
    else:
        drop = f"hark_test_{uuid.uuid4().hex[:12]}"
        with _admin().connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{drop}" TEMPLATE "{url.database}"'))
        target = url.set(database=drop).render_as_string(hide_password=False)
    engine = make_engine(target)
    yield make_sessions(engine)
    engine.dispose()
    if drop:
        with _admin().connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))


@pytest.fixture
def cfg() -> AppConfig:
    return load_config(REPO / "config.yaml")


def view_of(sessions: Sessions, cfg: AppConfig, ref: str) -> dict[str, Any]:
    with sessions() as session:
        return customer_view(session, find_customer(session, ref), cfg.customers, AS_OF)


def test_merging_a_repeat_authors_two_accounts_shows_both_platforms_in_time_order(
    replayed: Sessions, cfg: AppConfig
) -> None:
    x_only, reddit_only = view_of(replayed, cfg, "@VoltVince"), view_of(replayed, cfg, "u/voltvince")
    assert {m["platform"] for m in x_only["mentions"]} == {"x"}
    assert {m["platform"] for m in reddit_only["mentions"]} == {"reddit"}
    with replayed.begin() as session:
        keep, other = find_customer(session, "@VoltVince").id, find_customer(session, "u/voltvince").id
        merge_customers(session, keep, other, actor="tester")
    merged = view_of(replayed, cfg, "u/voltvince")  # either account now finds the one person
    assert merged["customer"]["id"] == keep
    assert list(merged) == [
        "customer",
        "identities",
        "mentions",
        "replies",
        "cases",
        "leads",
        "sentiment_trend",
    ]
    assert {i["platform"] for i in merged["identities"]} == {"x", "reddit"}
    ids = [m["id"] for m in merged["mentions"]]
    assert sorted(ids) == sorted(m["id"] for m in x_only["mentions"] + reddit_only["mentions"])
    times = [m["created_at"] for m in merged["mentions"]]
    assert times == sorted(times)
    assert all(m["sentiment"] and m["intent"] for m in merged["mentions"])  # each with its labels
    assert len(merged["cases"]) == len({c["id"] for c in x_only["cases"] + reddit_only["cases"]})
    assert merged["sentiment_trend"]
    with replayed() as session:
        assert session.get(CustomerRow, other) is None
        with pytest.raises(CustomerNotFoundError, match=f"merged into customer {keep}"):
            find_customer(session, str(other))
        merges = session.scalars(sa.select(AuditLogRow).where(AuditLogRow.action == "customers_merged")).all()
        assert [(a.subject, a.detail["merged"]) for a in merges] == [(f"customer:{keep}", other)]


def test_the_crm_record_of_a_person_on_both_platforms_holds_both_timelines(
    replayed: Sessions, cfg: AppConfig
) -> None:
    view = view_of(replayed, cfg, "HS-100234")  # Maria Keller, VIP, handles on both platforms in the CSV
    assert view["customer"]["name"] == "Maria Keller"
    assert "vip" in view["customer"]["segments"]
    assert {m["platform"] for m in view["mentions"]} == {"x", "reddit"}
    assert view_of(replayed, cfg, "@maria_rides")["customer"]["id"] == view["customer"]["id"]
    assert any(r["approved_by"] for r in view["replies"]) or not view["replies"]


def test_two_crm_records_are_not_merged(replayed: Sessions) -> None:
    with replayed.begin() as session:
        maria, priya = find_customer(session, "HS-100234").id, find_customer(session, "HS-101045").id
        with pytest.raises(MergeError, match="both CRM records"):
            merge_customers(session, maria, priya, actor="tester")


def every_text(session: Any) -> Iterator[tuple[str, str, str]]:
    """(table, column, value as text) for every non-null value of every column of every table."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            for (value,) in session.execute(sa.select(column).where(column.is_not(None))):
                text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
                yield table.name, column.name, text


def test_forgetting_a_person_leaves_no_trace_and_keeps_the_counts(replayed: Sessions, cfg: AppConfig) -> None:
    with replayed.begin() as session:
        keep, other = find_customer(session, "@VoltVince").id, find_customer(session, "u/voltvince").id
        merge_customers(session, keep, other, actor="tester")
    with replayed() as session:
        identities = session.scalars(sa.select(IdentityRow).where(IdentityRow.customer_id == keep)).all()
        mentions = session.scalars(sa.select(MentionRow).where(MentionRow.customer_id == keep)).all()
        needles = {i.handle for i in identities} | {i.platform_user_id or "" for i in identities}
        needles |= {i.display_name or "" for i in identities} | {m.text for m in mentions}
        needles |= {m.text.split("\n\n")[0] for m in mentions if m.platform == "reddit" and m.kind == "post"}
    assert len(mentions) >= 6
    with replayed.begin() as session:  # traces other stages leave: a reply, a note in the audit log
        target = session.get_one(MentionRow, mentions[0].id)
        assert queue_reply(session, target, f"Hi @{target.author_handle}!", template=None, status="draft")
        detail = {
            "note": f"{target.author_handle} wrote: {target.text}",
            "by": {"user": target.author_user_id},
        }
        session.add(
            AuditLogRow(at=AS_OF, actor="slack:U1", action="relabel", subject="mention:1", detail=detail)
        )
    with replayed() as session:
        before = pipeline_status(session, [])
    with replayed.begin() as session:
        forget_customer(session, keep, actor="dpo")
    with replayed() as session:
        after = pipeline_status(session, [])
        traces = [
            (table, column, needle)
            for table, column, text in every_text(session)
            for needle in needles
            if needle and needle.lower() in text.lower()
        ]
        forgotten = session.get_one(CustomerRow, keep)
        actions = [a.action for a in session.scalars(sa.select(AuditLogRow).order_by(AuditLogRow.id))]
        still = session.scalars(sa.select(MentionRow).where(MentionRow.customer_id == keep)).all()
    assert traces == []
    assert after == before | {"customers": before["customers"] - 1}
    assert forgotten.forgotten_at is not None
    assert forgotten.name is None
    assert forgotten.external_crm_id is None
    assert len(still) == len(mentions)  # counted in reports, but with nothing to read
    assert all(m.text == "" and m.raw == {} and m.erased_at for m in still)
    assert actions[-1] == "customer_forgotten"


def test_a_forgotten_crm_customer_is_not_imported_again(replayed: Sessions, cfg: AppConfig) -> None:
    with replayed.begin() as session:
        maria = find_customer(session, "HS-100234").id
        forget_customer(session, maria, actor="dpo")
    assert cfg.customers.import_csv is not None
    with replayed.begin() as session:
        result = import_customers_csv(session, cfg.customers.import_csv)
    assert result.created == 0
    assert [reason for _, reason in result.rejected] == [
        "customer HS-100234 asked to be forgotten; remove them from the CRM export"
    ]
    with replayed() as session, pytest.raises(CustomerNotFoundError):
        find_customer(session, "@maria_rides")


def test_a_post_deleted_upstream_is_erased_everywhere(replayed: Sessions) -> None:
    with replayed() as session:
        commented = sa.select(MentionRow.conversation_id).where(MentionRow.kind == "comment")
        post = next(  # a post with comments under it, whose title JSON stores as written
            row
            for row in session.scalars(
                sa.select(MentionRow)
                .where(MentionRow.kind == "post", MentionRow.external_id.in_(commented))
                .order_by(MentionRow.id)
            )
            if row.platform == "reddit" and row.text.split("\n\n")[0].isascii()
        )
        title = post.text.split("\n\n")[0]
        quoted = session.scalar(
            sa.select(sa.func.count())
            .select_from(MentionRow)
            .where(sa.cast(MentionRow.raw, sa.Text).contains(title[:30]))
        )
        before = pipeline_status(session, [])
    assert (quoted or 0) > 1, "comments under a Reddit post carry its title"
    with replayed.begin() as session:
        assert forget_mention(session, "reddit", post.external_id)
        assert forget_mention(session, "reddit", post.external_id)  # again: nothing more to do
        assert not forget_mention(session, "reddit", "t3_never_seen")
    with replayed() as session:
        row = session.get_one(MentionRow, post.id)
        traces = [(t, c) for t, c, text in every_text(session) if title.lower() in text.lower()]
        assert pipeline_status(session, []) == before
    assert (row.text, row.url, row.raw) == ("", "", {})
    assert row.erased_at is not None
    assert traces == []
