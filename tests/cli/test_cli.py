"""The CLI's promises: one-line errors with exit code 2, and JSON on stdout with --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

SECRET_NAMES = ("X_BEARER_TOKEN", "SLACK_BOT_TOKEN", "REDDIT_CLIENT_ID", "HARK_CONFIG", "HARK_DATABASE_URL")


def hark(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    return subprocess.run(
        [sys.executable, str(REPO / "main.py"), *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    data["brand"]["nmae"] = "typo"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = hark(
        "run", "--once", "--config", str(path), env={"HARK_DATABASE_URL": f"sqlite:///{tmp_path}/h.db"}
    )
    assert_one_line_error(result, "brand.nmae", "Extra inputs are not permitted")


def test_missing_secret_exits_2_naming_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump({"brand": {"name": "B"}, "sources": [{"type": "x", "name": "x-live", "query": "@b"}]}),
        encoding="utf-8",
    )
    result = hark(
        "run", "--once", "--config", str(path), env={"HARK_DATABASE_URL": f"sqlite:///{tmp_path}/h.db"}
    )
    assert_one_line_error(result, "sources.x-live", "X_BEARER_TOKEN is not set")


def test_unreachable_database_exits_2_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://hark:s3cret-pw@127.0.0.1:9/hark"  # port 9 (discard): nothing listens there
    result = hark("status", "--json", env={"HARK_DATABASE_URL": url})
    assert_one_line_error(result, "cannot reach the database")
    assert "s3cret-pw" not in result.stderr
    assert result.stdout == ""


def test_config_from_hark_config_env(tmp_path: Path) -> None:
    result = hark("status", env={"HARK_CONFIG": str(tmp_path / "absent.yaml")})
    assert_one_line_error(result, "absent.yaml")


def test_status_json_on_a_fresh_database(tmp_path: Path) -> None:
    result = hark("status", "--json", env={"HARK_DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {k: report[k] for k in ("mentions", "classified", "linked", "routed", "customers")} == {
        "mentions": 0,
        "classified": 0,
        "linked": 0,
        "routed": 0,
        "customers": 0,
    }
    assert [s["name"] for s in report["sources"]] == ["x-sample", "reddit-sample"]
    assert all(s["last_success_at"] is None and s["last_error"] is None for s in report["sources"])


def test_unknown_option_is_a_usage_error() -> None:
    result = hark("status", "--no-such-option")
    assert result.returncode == 2


def test_label_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    env = {"HARK_DATABASE_URL": f"sqlite:///{tmp_path}/h.db"}
    unknown = hark("label", "x:404", "--by", "ana", "--intent", "praise", env=env)
    assert_one_line_error(unknown, "no mention x:404")
    assert_one_line_error(hark("label", "x:404", "--by", "ana", env=env), "give at least one of --sentiment")
