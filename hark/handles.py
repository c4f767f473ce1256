"""The one handle normaliser: how people type a handle is not how Hark compares it."""

from __future__ import annotations

TYPED_PREFIXES = ("@", "/u/", "u/")  # what people put in front of a handle in config, CSVs and commands


def handle_key(handle: str) -> str:
    """Handles compare without case, surrounding space or the @ or u/ people type in front."""
    key = handle.strip().lower()
    for prefix in TYPED_PREFIXES:
        key = key.removeprefix(prefix)
    return key
