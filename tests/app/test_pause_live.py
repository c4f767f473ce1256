"""`hark replies pause` stops a running `hark run` within one reply, and `resume` lets what waited go out
once: the real scheduler, tweepy and the fake X, with the switch flipped from a second process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tests.app.test_recovery import crash_config
from tests.conftest import REPO
from tests.fake_platforms import FakeX

pytestmark = pytest.mark.slow


def until(
    what: str, done: Callable[[], bool], process: subprocess.Popen[str], timeout_s: float = 240
) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert process.poll() is None, f"hark run exited ({process.returncode}) waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def reply_statuses(db: Path) -> list[str]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return sorted(status for (status,) in conn.execute("SELECT status FROM replies"))
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def test_pause_holds_a_running_hark_and_resume_sends_what_waited_once(fake_x: FakeX, tmp_path: Path) -> None:
    config_path = crash_config(tmp_path, fake_x)
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["sources"][0]["interval_s"] = 1
    config["scheduler"] = {f"{stage}_interval_s": 1 for stage in ("classify", "link", "route", "deliver")}
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    db = tmp_path / "hark.db"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("X_", "REDDIT_", "SLACK_", "HARK_"))},
        "HARK_CONFIG": str(config_path),
        "HARK_DATABASE_URL": f"sqlite:///{db}",
        "X_BEARER_TOKEN": fake_x.bearer_token,
        "X_API_KEY": fake_x.posting_key,
        "X_API_SECRET": "s",
        "X_ACCESS_TOKEN": "t",
        "X_ACCESS_TOKEN_SECRET": "ts",
    }

    def hark(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(REPO / "main.py"), *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    fake_x.add_mentions(1)
    log = (tmp_path / "run.log").open("w", encoding="utf-8")
    running = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "run"], env=env, cwd=REPO, stdout=log, stderr=log, text=True
    )
    try:
        until("the first reply", lambda: len(fake_x.posted) == 1, running)
        assert "replies paused by" in hark("replies", "pause", "--reason", "launch day", "--actor", "ann")
        held = fake_x.add_mentions(2, spacing=timedelta(milliseconds=100))  # both newer than the first
        until(
            "two replies approved and waiting",
            lambda: reply_statuses(db) == ["approved"] * 2 + ["sent"],
            running,
        )
        time.sleep(5)  # five deliver intervals: none of them may send
        assert len(fake_x.posted) == 1
        assert reply_statuses(db) == ["approved", "approved", "sent"]
        assert hark("replies", "resume", "--actor", "ann").strip() == "replies resumed"
        until("the replies that waited", lambda: len(fake_x.posted) == 3, running)
        until("the outbox to record them", lambda: reply_statuses(db) == ["sent"] * 3, running)
        time.sleep(3)  # and nothing more goes out
        targets = [p["in_reply_to"] for p in fake_x.posted]
        assert len(targets) == len(set(targets)) == 3
        assert set(held) <= set(targets)
    finally:
        running.send_signal(signal.SIGTERM)
        code = running.wait(timeout=60)
        log.close()
    output = (tmp_path / "run.log").read_text(encoding="utf-8")
    assert code == 0, output[-3000:]
    assert "replies_paused waiting=" in output
