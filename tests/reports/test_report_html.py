"""report.html as a person opens it: in real Chromium, with no script, no network, every chart drawn, and a
hostile post shown as the words it is."""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Request

from app.config import AppConfig
from app.pipeline import Sessions
from app.reporting import build_report
from reports.weeks import IsoWeek
from tests.conftest import REPO
from tests.reports.posts import customer, post, topic_vector

WEEK = IsoWeek(2026, 47)  # Monday 16 to Sunday 22 November 2026, CET all week
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2"> brakes squeal'
JS_URL = "javascript:alert(1)"
JS_TEXT = "the order link in your email does nothing"
ARTIFACT = REPO / "var" / "test-artifacts" / "report.png"  # var/ is gitignored

BRAKES = [
    "rear brake squeals on my Stratus again",
    "disc brakes squeal after every rain ride",
    "brake lever feels spongy, squeal when stopping",
    "front brake squeal is driving me mad",
]
BATTERY = [
    "how do I charge the battery pack overnight?",
    "battery pack will not charge past 80%, any tips?",
    "which charger fits the Halo battery pack?",
]


def _store(sessions: Sessions) -> None:
    """Forty posts over W47 on x and reddit (two topics: complaints and questions), ten in W46, a VIP's
    post, a post written as HTML and one whose link is javascript:."""
    start = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)  # 07:00 Monday in Berlin
    with sessions.begin() as session:
        vip = customer(session, "Vera VIP", tier="VIP").id
        for i in range(40):
            at = start + timedelta(hours=4 * i)  # the last one is Sunday 19:00 in Berlin
            platform = "reddit" if i % 3 == 0 else "x"
            metrics = {"score": i} if platform == "reddit" else {"public_metrics": {"like_count": i}}
            match i % 4:
                case 0:
                    post(
                        session,
                        at,
                        text=BRAKES[i // 4 % len(BRAKES)],
                        platform=platform,
                        sentiment="negative",
                        intent="complaint",
                        score=0.7,
                        vector=topic_vector(1),
                        raw=metrics,
                    )
                case 1:
                    post(
                        session,
                        at,
                        text=BATTERY[i // 4 % len(BATTERY)],
                        platform=platform,
                        intent="support_question",
                        vector=topic_vector(2),
                        raw=metrics,
                    )
                case 2:
                    post(session, at, text="love the new Halo", platform=platform, sentiment="positive")
                case _:
                    post(session, at, text="saw a Nimbus at the shop", platform=platform)
        for i in range(10):
            post(session, start - timedelta(days=7) + timedelta(hours=13 * i), sentiment="positive")
        post(
            session,
            start + timedelta(days=1),
            text="my Cirrus is perfect",
            sentiment="positive",
            customer_id=vip,
        )
        # both are the week's surest negatives, so both are on "Most negative posts"
        post(
            session,
            start + timedelta(days=2),
            text=HOSTILE,
            sentiment="negative",
            intent="complaint",
            score=0.99,
            vector=topic_vector(1),
        )
        trick = post(
            session,
            start + timedelta(days=3),
            text=JS_TEXT,
            sentiment="negative",
            intent="complaint",
            score=0.98,
            raw={"url": JS_URL, "public_metrics": {"like_count": 500}},  # and the most engaged post
        )
        trick.url = JS_URL  # as if a platform module had copied the payload's link


@dataclass
class Opened:
    """The report in a browser tab, and what the tab did while loading it."""

    page: Page
    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def opened(browser: Browser, sessions: Sessions, app_config: AppConfig, tmp_path: Path) -> Iterator[Opened]:
    _store(sessions)
    html = build_report(sessions, app_config, WEEK, tmp_path, now=NOW).files.html
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    tab = Opened(page, html.as_uri())

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.console_errors.append(message.text)

    def on_page_error(error: Error) -> None:
        tab.page_errors.append(str(error))

    def on_request(request: Request) -> None:
        tab.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("request", on_request)
    page.goto(tab.url)  # returns after "load": every image has been decoded or has failed
    try:
        yield tab
    finally:
        context.close()


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_loads_with_every_chart_and_nothing_from_the_network(opened: Opened, tmp_path: Path) -> None:
    page = opened.page
    assert opened.console_errors == []
    assert opened.page_errors == []
    assert opened.url in opened.requests  # the listener saw at least the page itself
    assert [u for u in opened.requests if not u.startswith(("file://", "data:"))] == []

    images = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.alt, i.complete, i.naturalWidth])")
    assert len(images) >= 3, images
    assert [alt for alt, complete, width in images if not (complete and width > 0)] == []
    assert page.locator("#topics h3").count() >= 2  # the complaints and the questions are two topics

    shot = tmp_path / "report.png"
    page.screenshot(path=shot, full_page=True)
    data = shot.read_bytes()
    width, height = _png_size(data)
    assert width == 1280
    assert height > 2 * 900  # the whole page, not the viewport
    assert len(data) > 100_000  # text and four charts, not a blank page
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    partial = ARTIFACT.with_name(f".{ARTIFACT.name}.partial")
    shutil.copyfile(shot, partial)
    os.replace(partial, ARTIFACT)  # someone looking at it never sees half a file


def test_hostile_posts_are_shown_as_their_words_and_never_run(opened: Opened) -> None:
    page = opened.page
    assert page.get_by_text("<script>window.__pwned = 1</script>").first.is_visible()
    assert HOSTILE in page.inner_text("#negative")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script").count() == 0
    handlers = page.evaluate(
        "[...document.querySelectorAll('*')]"
        ".flatMap(e => e.getAttributeNames().filter(n => n.startsWith('on')))"
    )
    assert handlers == []

    assert JS_TEXT in page.inner_text("#negative")  # the post with a javascript: link is shown, unlinked
    hrefs: list[str] = page.eval_on_selector_all("a", "links => links.map(a => a.getAttribute('href'))")
    assert any(h.startswith("https://example.com/") for h in hrefs)  # the other posts' links are there
    assert [h for h in hrefs if not h.startswith(("https://", "http://"))] == []
