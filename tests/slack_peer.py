"""Slack Web API answers built from the recorded schema samples in shared/fixtures/slack."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SHARED

SLACK_API = SHARED / "fixtures" / "slack" / "api"


def slack_ok(method: str, **overrides: Any) -> dict[str, Any]:
    """A success answer: the sample's fields, with the error-only fields dropped, as Slack sends them."""
    sample: dict[str, Any] = json.loads((SLACK_API / f"{method}.json").read_text(encoding="utf-8"))
    for key in ("error", "warning", "needed", "provided", "errors", "deprecated_argument"):
        sample.pop(key, None)
    return {**sample, "ok": True, **overrides}


def slack_error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}
