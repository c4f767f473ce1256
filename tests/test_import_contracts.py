"""The import-linter contracts that `make lint` runs really fail when a layer or SDK rule is broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("hark", "platforms", "store", "listeners", "classifiers", "responders", "reports", "app", "cli")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_copy(tmp_path: Path, edit: tuple[str, str] | None) -> subprocess.CompletedProcess[str]:
    """lint-imports on a copy of the tree (code only), with one line added to one module."""
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("*.onnx", "model", "data")
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    if edit is not None:
        module, line = edit
        path = tmp_path / module
        path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # the copy shadows the installed tree
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_copy(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("store/mentions.py", "import app.pipeline", "Layers point one way"),  # the store reaching up
        ("responders/routing.py", "import listeners.filters", "Layers point one way"),  # stage to stage
        ("hark/records.py", "import platforms.registry", "Layers point one way"),  # the foundation
        ("store/leads.py", "import tweepy", "tweepy only in platforms/x/client.py"),
        ("platforms/x/__init__.py", "import tweepy", "tweepy only in platforms/x/client.py"),  # the spec too
        ("platforms/reddit/payload.py", "import praw", "praw only in platforms/reddit/client.py"),
        ("listeners/reddit.py", "import praw", "praw only in platforms/reddit/client.py"),
        ("app/runner.py", "import slack_sdk", "slack-sdk and bolt only in responders/slack*.py"),
        ("responders/registry.py", "import slack_bolt", "slack-sdk and bolt only in responders/slack*.py"),
        ("store/labels.py", "import torch", "torch, transformers and onnxruntime only in classifiers/"),
    ],
)
def test_a_wrong_import_breaks_its_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    result = lint_copy(tmp_path, (module, line))
    assert result.returncode == 1, result.stdout
    assert f"{broken}" in result.stdout.replace("\n", " ")
    assert "1 broken" in result.stdout
