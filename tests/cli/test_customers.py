"""`hark customers` and `hark leads` as an operator runs them: JSON on stdout, exit codes 0/1/2."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from app.config import AppConfig
from app.pipeline import classify_pending, link_pending
from main import cli
from store.db import Sessions
from store.mentions import add_mentions
from tests.builders import mention
from tests.conftest import REPO
from tests.fakes import KeywordClassifier


@pytest.fixture
def hark(db_url: str, sessions: Sessions, app_config: AppConfig) -> Any:
    """Run the CLI in-process against a database holding the sample CRM and a few mentions."""
    runner = CliRunner(env={"HARK_DATABASE_URL": db_url, "HARK_CONFIG": str(REPO / "config.yaml")})

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args))

    assert invoke("customers", "import", str(REPO / "samples" / "customers.csv")).exit_code == 0
    with sessions.begin() as session:
        add_mentions(
            session,
            [
                mention(1, "my Halo arrived broken", author="maria_rides"),
                mention(2, "want to buy a Cirrus for the kids", author="maria_rides", platform="reddit"),
                mention(3, "love it", author="maria_rides"),
            ],
        )
    classify_pending(sessions, KeywordClassifier(), 10)
    link_pending(sessions, app_config, 10)
    return invoke


def test_import_reports_counts_and_reimport_changes_nothing(hark: Any, tmp_path: Path) -> None:
    result = hark("customers", "import", str(REPO / "samples" / "customers.csv"), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {k: document[k] for k in ("rows", "created", "updated", "unchanged", "rejected")} == {
        "rows": 25,
        "created": 0,
        "updated": 0,
        "unchanged": 25,
        "rejected": [],
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nA,a@b.example\n", encoding="utf-8")
    refused = hark("customers", "import", str(bad))
    assert refused.exit_code == 2
    assert "missing columns: external_crm_id" in refused.stderr


def test_show_json_prints_the_document_design_md_names(hark: Any) -> None:
    result = hark("customers", "show", "@maria_rides", "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert list(view) == [
        "customer",
        "identities",
        "mentions",
        "replies",
        "cases",
        "leads",
        "sentiment_trend",
    ]
    assert view["customer"]["external_crm_id"] == "HS-100234"
    assert [m["platform"] for m in view["mentions"]] == ["x", "reddit", "x"]
    assert view["leads"][0]["product_interest"] is None or isinstance(
        view["leads"][0]["product_interest"], str
    )
    text = hark("customers", "show", "u/maria_rides")
    assert text.exit_code == 0
    assert "Maria Keller" in text.stdout
    missing = hark("customers", "show", "@nobody_at_all")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: no x account")


def test_leads_list_export_and_status(hark: Any, tmp_path: Path) -> None:
    listed = json.loads(hark("leads", "list", "--json").stdout)
    assert [lead["customer_name"] for lead in listed] == ["Maria Keller"]
    lead_id = str(listed[0]["lead_id"])
    assert hark("leads", "set-status", lead_id, "contacted").exit_code == 0
    assert hark("leads", "set-status", lead_id, "maybe").exit_code == 2
    out = tmp_path / "leads.csv"
    assert hark("leads", "export", str(out), "--status", "contacted").exit_code == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["lead_id"], r["status"], r["external_crm_id"]) for r in rows] == [
        (lead_id, "contacted", "HS-100234")
    ]


def test_export_then_forget_with_status_consistent(hark: Any) -> None:
    exported = hark("customers", "export", "HS-100234")
    assert exported.exit_code == 0
    document = json.loads(exported.stdout)
    assert document["customer"]["email"] == "maria.keller@example.com"
    assert len(document["classifications"]) == 3
    before = json.loads(hark("status", "--json").stdout)
    assert hark("customers", "forget", "HS-100234").exit_code == 2  # needs --yes
    forgotten = hark("customers", "forget", "HS-100234", "--yes", "--json")
    assert forgotten.exit_code == 0, forgotten.output
    customer_id = json.loads(forgotten.stdout)["customer_id"]
    after = json.loads(hark("status", "--json").stdout)
    assert after == before | {"customers": before["customers"] - 1}
    shown = json.loads(hark("customers", "show", str(customer_id), "--json").stdout)
    assert shown["customer"]["forgotten_at"]
    assert shown["identities"] == []
    assert all(m["text"] == "" and m["author_handle"] == "[forgotten]" for m in shown["mentions"])
    actions = [a["action"] for a in json.loads(hark("customers", "export", str(customer_id)).stdout)["audit"]]
    assert "customer_exported" in actions
    assert "customer_forgotten" in actions
