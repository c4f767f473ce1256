"""The embedded default, as `make run` starts it: real replay files, real model, real SQLite, console."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import hark
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_run_once_processes_every_sample_mention_and_a_second_run_adds_nothing(tmp_path: Path) -> None:
    env = {"HARK_DATABASE_URL": f"sqlite:///{tmp_path}/hark.db"}
    first = hark("run", "--once", "--json", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    counts = json.loads(first.stdout)
    status = json.loads(hark("status", "--json", env=env).stdout)
    assert counts["new_mentions"] == status["mentions"] >= 280
    assert status["mentions"] == status["classified"] == status["linked"] == status["routed"]
    assert status["cases_open"] > 0
    assert status["customers"] > 25  # the CSV's customers plus new authors
    assert "case #" in first.stderr  # with --json the cards print on stderr, stdout stays one JSON document
    with sqlite3.connect(tmp_path / "hark.db") as db:  # each post keeps the model's 384-dim embedding
        sizes = db.execute("SELECT length(vector), count(*) FROM mention_vectors GROUP BY 1").fetchall()
    assert sizes == [(384 * 4, status["classified"])]

    # the weekly report on what the real model labelled: W47 in Berlin is 15 Nov 23:00 to 22 Nov 23:00 UTC
    report = hark(
        "report", "weekly", "--week", "2026-W47", "--out", str(tmp_path / "reports"), "--json", env=env
    )
    assert report.returncode == 0, report.stderr[-2000:]
    figures = json.loads(report.stdout)["report"]
    with sqlite3.connect(tmp_path / "hark.db") as db:
        (in_week,) = db.execute(
            "SELECT count(*) FROM mentions WHERE created_at >= '2026-11-15 23:00:00' "
            "AND created_at < '2026-11-22 23:00:00'"
        ).fetchone()
    assert figures["volume"]["total"] == in_week > 0
    assert figures["topics"], "the week's complaints and questions form topics"
    assert sum(t["size"] for t in figures["topics"]) <= figures["topics_posts"]
    assert all(t["terms"] and t["examples"] for t in figures["topics"])

    second = hark("run", "--once", "--json", env=env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads(second.stdout)["new_mentions"] == 0
    again = json.loads(hark("status", "--json", env=env).stdout)
    assert {k: v for k, v in again.items() if k != "sources"} == {
        k: v for k, v in status.items() if k != "sources"
    }


def test_sigterm_finishes_the_batch_and_exits_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "SLACK_", "REDDIT_", "HARK_"))}
    env["HARK_DATABASE_URL"] = f"sqlite:///{tmp_path}/hark.db"
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "main.py"), "run"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        deadline = time.monotonic() + 180
        while "route_progress" not in log.read_text() and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.5)  # waiting on a real child process; there is no clock to move
        assert "route_progress" in log.read_text(), log.read_text()[-2000:]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    text = log.read_text()
    assert "shutdown_requested signal=SIGTERM" in text
    assert "Traceback" not in text


def test_classify_cli_prints_one_json_object_per_text() -> None:
    texts = [
        "@NimbusCycles my battery died after two days and support ignores me, this is awful",
        "@NimbusCycles I love my new Stratus, best commute ever!",
    ]
    result = hark("classify", "--json", *texts)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == texts
    assert rows[0]["sentiment"] == "negative"
    assert rows[1]["sentiment"] == "positive"
    assert rows[1]["intent"] == "praise"
    assert all(r["relevant"] and r["model_version"].startswith("hark-minilm-") for r in rows)
