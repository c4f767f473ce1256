"""A platform Hark has never heard of joins through the documented lines only: its module and registry entry.

The fake platform "toot" (tests/toot_platform.py) is what a new platform module would hold (a
PlatformSpec with its own page parser); the test registers it the way its line in platforms/registry.py
would, and runs it through listen -> classify -> link -> route -> deliver with the replay listener and
the console responders.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from app.config import AppConfig
from app.pipeline import Routing
from app.runner import run_once
from app.runtime import Database, Runtime, build
from hark.brand import OwnAccounts
from hark.errors import ConfigError
from hark.secrets import Secrets
from listeners.registry import build_listener
from platforms.registry import PLATFORMS, UnknownPlatformError, get_platform
from responders.registry import build_queue_responder, build_reply_responders
from responders.templates import ReplyTemplates
from store.db import Sessions
from store.models import CaseRow, CustomerRow, IdentityRow, MentionRow, ReplyRow
from store.profiles import customer_view
from tests.fakes import KeywordClassifier
from tests.toot_platform import NAME, TOOT

PAGES = [
    {
        "items": [
            {
                "id": "t1",
                "account": {"id": "acct-maria", "acct": "maria"},
                "text": "@nimbus_social my Nimbus Stratus battery arrived broken",
                "created_at": "2026-11-10T09:00:00+00:00",
            },
            {
                "id": "t2",
                "account": {"id": "acct-joe", "acct": "joe"},
                "text": "I love my Nimbus Cirrus, best commute ever",
                "created_at": "2026-11-10T09:05:00+00:00",
            },
            {
                "id": "t3",
                "account": {"id": "acct-brand", "acct": "nimbus_social"},
                "text": "@maria so sorry! DM us your order number",
                "created_at": "2026-11-10T09:20:00+00:00",
                "reply_to": "t1",
                "thread": "t1",
            },
        ]
    }
]


@pytest.fixture
def toot_config(app_config: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppConfig:
    monkeypatch.setitem(PLATFORMS, NAME, TOOT)  # the platform's one line in platforms/registry.py
    replay = tmp_path / "toot.json"
    replay.write_text(json.dumps(PAGES), encoding="utf-8")
    data = app_config.model_dump(mode="json")
    data["brand"]["accounts"][NAME] = {"nimbus_social": "acct-brand"}
    data["sources"] = [{"type": "replay", "name": "toot-sample", "platform": NAME, "path": str(replay)}]
    data["customers"]["import_csv"] = None
    return AppConfig.model_validate(data)


def runtime_for(cfg: AppConfig, sessions: Sessions, console: Console) -> Runtime:
    """What app.runtime.build assembles, with the keyword classifier in place of the model."""
    own = OwnAccounts.build(cfg.brand)
    return Runtime(
        config=cfg,
        db=Database(sessions.kw["bind"], sessions),
        listeners=tuple(build_listener(source, own) for source in cfg.sources),
        classifier=KeywordClassifier(),
        routing=Routing(
            cfg=cfg,
            templates=ReplyTemplates(cfg.routing.templates),
            queue=build_queue_responder(cfg.responders.queue, Secrets(), console),
            own=own,
        ),
        repliers=build_reply_responders(cfg.responders.replies.dry_run, cfg.sources, console),
    )


def test_a_new_platform_runs_through_every_stage(toot_config: AppConfig, sessions: Sessions) -> None:
    out = io.StringIO()
    counts = run_once(runtime_for(toot_config, sessions, Console(file=out, width=120, highlight=False)))
    assert counts["new_mentions"] == 2  # our own reply is a response, not a mention
    assert counts["sources_failing"] == 0
    with sessions() as session:
        rows = session.scalars(sa.select(MentionRow).order_by(MentionRow.id)).all()
        assert [(r.platform, r.external_id) for r in rows] == [(NAME, "t1"), (NAME, "t2")]
        assert all(r.routed_at is not None for r in rows)
        assert session.scalars(sa.select(IdentityRow.platform)).all() == [NAME, NAME]
        complaint = rows[0]
        assert complaint.route_action == "queue"
        case = session.get_one(CaseRow, complaint.case_id)
        # the brand account's reply counted as the case's first response
        assert case.first_response_at == datetime.fromisoformat("2026-11-10T09:20:00+00:00")
        praise = rows[1]
        assert praise.route_action == "auto_reply"
        reply = session.scalars(sa.select(ReplyRow).where(ReplyRow.mention_id == praise.id)).one()
        assert reply.status == "sent"
        customer = session.get_one(CustomerRow, complaint.customer_id)
        view = customer_view(session, customer, toot_config.customers)
        assert [i["platform"] for i in view["identities"]] == [NAME]
    printed = out.getvalue()
    assert "toot @maria" in printed  # the card shows the handle as the platform writes it
    assert "[dry-run reply on toot to t2] Thank you" in printed
    assert "@joe" in printed.split("[dry-run reply on toot to t2]")[1]


def test_an_unknown_platform_is_refused_not_guessed(app_config: AppConfig, tmp_path: Path) -> None:
    with pytest.raises(UnknownPlatformError, match="unknown platform 'toot'"):
        get_platform(NAME)
    data = app_config.model_dump(mode="json")
    data["sources"] = [{"type": "replay", "name": "s", "platform": NAME, "path": str(tmp_path / "f.json")}]
    with pytest.raises(ValueError, match=r"unknown platform 'toot' \(known: reddit, x\)"):
        AppConfig.model_validate(data)
    data = app_config.model_dump(mode="json")
    data["brand"]["accounts"][NAME] = ["someone"]
    with pytest.raises(ValueError, match=r"brand\.accounts\.toot: unknown platform"):
        AppConfig.model_validate(data)
    assert issubclass(UnknownPlatformError, ConfigError)  # an operator error: exit 2 with one line


def test_mentions_of_a_platform_no_module_registers_stop_startup(
    toot_config: AppConfig, app_config: AppConfig, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_once(runtime_for(toot_config, sessions, Console(file=io.StringIO())))
    monkeypatch.delitem(PLATFORMS, NAME)  # the platform's module was removed after its posts were stored
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    monkeypatch.setenv("HARK_DATABASE_URL", url)
    with pytest.raises(ConfigError, match="the database holds mentions of toot, which no platform module"):
        build(app_config, Secrets())  # before the model loads: the route stage would stop at every batch
