"""Whole-word phrase matching in post text: one rule for config keywords and named products alike."""

from __future__ import annotations

import re


def find_phrase(text: str, phrase: str) -> re.Match[str] | None:
    """The first place `phrase` stands as whole words in `text`, any case: "ad" is not in "bad"."""
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE)
