"""Report fixtures: one real Chromium (Debian's, driven by Playwright) for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; `playwright install` cannot download browsers here


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Launched once per session. A missing Chromium fails the test, never skips it: CI installs it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does; Playwright needs it)")
    with sync_playwright() as playwright:
        # --no-sandbox: tests run as root, and Chromium's sandbox refuses root
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()
