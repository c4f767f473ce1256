"""Leads: buying signals fold into one open lead per customer, with product interest and a status."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.config import AppConfig
from app.pipeline import classify_pending, link_pending
from hark.records import Mention
from platforms.registry import PLATFORMS
from store.customers import find_customer
from store.db import Sessions
from store.leads import LeadError, list_leads, products_named, set_lead_status, write_leads_csv
from store.mentions import add_mentions
from store.models import AuditLogRow, LeadRow
from tests.builders import mention
from tests.fakes import KeywordClassifier
from tests.toot_platform import TOOT


def run(sessions: Sessions, cfg: AppConfig, *mentions: Mention) -> None:
    with sessions.begin() as session:
        add_mentions(session, mentions)
    classify_pending(sessions, KeywordClassifier(), 100)
    link_pending(sessions, cfg, 100)


@pytest.fixture
def cfg(app_config: AppConfig) -> AppConfig:
    customers = app_config.customers.model_copy(update={"products": ("Stratus", "Cirrus", "Halo")})
    return app_config.model_copy(update={"customers": customers})


def test_products_are_found_as_words_in_the_order_named() -> None:
    assert products_named("Cirrus or halo? not the Stratusphere", ("Stratus", "Cirrus", "Halo")) == [
        "Cirrus",
        "Halo",
    ]


def test_buying_signals_fold_into_one_open_lead(sessions: Sessions, cfg: AppConfig) -> None:
    run(
        sessions,
        cfg,
        mention(1, "want to buy a Cirrus", author="ann"),
        mention(2, "ok ready to buy, Halo or Cirrus", author="ann"),
        mention(3, "love my bike", author="ann"),
    )
    with sessions() as session:
        lead = session.scalars(sa.select(LeadRow)).one()
        first = session.scalar(sa.select(LeadRow.mention_id))
    assert (lead.status, lead.signals, lead.product_interest) == (
        "new",
        2,
        "Cirrus, Halo",
    )  # first named first
    assert lead.mention_id == first
    assert lead.last_mention_id != lead.mention_id


def test_a_closed_lead_is_not_reopened_by_a_new_signal(sessions: Sessions, cfg: AppConfig) -> None:
    run(sessions, cfg, mention(1, "want to buy a Stratus", author="ann"))
    with sessions.begin() as session:
        lead_id = session.scalars(sa.select(LeadRow.id)).one()
        set_lead_status(session, lead_id, "contacted", actor="sales")
        set_lead_status(session, lead_id, "won", actor="sales")
        with pytest.raises(LeadError, match="one of new, contacted, won, lost"):
            set_lead_status(session, lead_id, "maybe", actor="sales")
    run(sessions, cfg, mention(2, "buy a second one, a Halo", author="ann"))
    with sessions() as session:
        statuses = session.scalars(sa.select(LeadRow.status).order_by(LeadRow.id)).all()
        audit = session.scalars(
            sa.select(AuditLogRow.detail).where(AuditLogRow.action == "lead_status")
        ).all()
    assert statuses == ["won", "new"]
    assert [(d["from"], d["to"]) for d in audit] == [("new", "contacted"), ("contacted", "won")]


def test_leads_export_as_csv_that_a_spreadsheet_cannot_execute(
    sessions: Sessions, cfg: AppConfig, tmp_path: Path
) -> None:
    run(
        sessions,
        cfg,
        mention(1, '=HYPERLINK("http://evil.example") buy Halo', author="mallory"),
        mention(2, "buy a Stratus today", author="bob", platform="reddit"),
    )
    with sessions() as session:
        leads = list_leads(session)
        only_new = list_leads(session, "new")
        mallory = find_customer(session, "@mallory").id
    path = tmp_path / "leads.csv"
    write_leads_csv(leads, path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(only_new) == 2
    by_customer = {int(r["customer_id"]): r for r in rows}
    assert by_customer[mallory]["source_text"].startswith("'=HYPERLINK")
    assert {r["handles"] for r in rows} == {"mallory (x)", "bob (reddit)"}
    assert all(r["source_url"].startswith("https://") for r in rows)
    assert not list(tmp_path.glob("*.partial"))


def test_the_leads_csv_names_each_accounts_platform_even_when_two_write_handles_alike(
    sessions: Sessions, cfg: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLATFORMS, TOOT.name, TOOT)  # writes handles as @name, like X
    run(sessions, cfg, mention(1, "want to buy a Halo", author="maria", platform=TOOT.name))
    with sessions() as session:
        leads = list_leads(session)
    assert leads[0]["handles"] == ["@maria"]
    path = tmp_path / "leads.csv"
    write_leads_csv(leads, path)
    with path.open(encoding="utf-8", newline="") as handle:
        assert next(csv.DictReader(handle))["handles"] == "maria (toot)"
