"""The weekly report to Slack: summary and PNG charts in one files_upload_v2 call, through the real
slack-sdk WebClient against the local fake Slack (its three-step external upload, end to end)."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from rich.console import Console
from slack_sdk import WebClient

from hark.errors import AuthError, PermanentError
from responders.base import QueueResponder
from responders.config import QueueConfig
from responders.console import ConsoleQueueResponder
from responders.slack import SlackQueueResponder
from responders.slack_blocks import escape_mrkdwn
from tests.fakes import RecordingQueue
from tests.slack_peer import FakeSlack

SUMMARY = "Week 46: 212 mentions. Top complaint, quoted: <!channel> ask <@U123> about <https://evil.example|refunds>"


@pytest.fixture
def slack(httpserver: HTTPServer) -> FakeSlack:
    return FakeSlack(httpserver)


def queue(slack: FakeSlack) -> SlackQueueResponder:
    return SlackQueueResponder.on_client(WebClient(token="xoxb-test", base_url=slack.url), QueueConfig())


def png(path: Path, rgb: tuple[int, int, int], size: int = 2) -> Path:
    """A real PNG of one colour, `size` pixels square."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture
def charts(tmp_path: Path) -> list[Path]:
    return [png(tmp_path / "sentiment.png", (200, 30, 30)), png(tmp_path / "intents.png", (30, 30, 200), 3)]


def methods(slack: FakeSlack) -> list[str]:
    return [name for name, _ in slack.calls]


def test_the_charts_go_up_in_three_steps_and_are_shared_with_the_escaped_summary(
    slack: FakeSlack, charts: list[Path]
) -> None:
    responder: QueueResponder = queue(slack)  # mypy: it meets the contract
    ref = responder.post_report("#hark-reports", SUMMARY, charts)

    assert methods(slack) == [
        "conversations.list",  # the name's id, once: completeUploadExternal takes only an id
        "files.getUploadURLExternal",
        "files.getUploadURLExternal",
        "upload",
        "upload",
        "files.completeUploadExternal",
    ]
    asked = slack.of("files.getUploadURLExternal")
    assert [(a["filename"], int(a["length"])) for a in asked] == [(p.name, p.stat().st_size) for p in charts]
    ids = [str(upload["file_id"]) for upload in slack.of("upload")]
    assert [slack.uploads[i] for i in ids] == [p.read_bytes() for p in charts]  # byte for byte
    [complete] = slack.of("files.completeUploadExternal")
    assert complete["channel_id"] == "C0REPORT"
    assert [(f["id"], f["title"]) for f in json.loads(complete["files"])] == [
        (ids[0], "sentiment"),
        (ids[1], "intents"),
    ]
    comment = complete["initial_comment"]
    assert comment == escape_mrkdwn(SUMMARY)
    assert "&lt;!channel&gt;" in comment
    assert "&lt;@U123&gt;" in comment
    assert "<" not in comment  # no mention, link or channel call can come alive
    assert ref == ids[0]  # the first chart's file id


def test_a_channel_name_is_looked_up_once_and_an_id_is_used_as_it_is(
    slack: FakeSlack, charts: list[Path]
) -> None:
    slack.channels_page = 1  # "#hark-reports" is on the third page
    responder = queue(slack)
    responder.post_report("#hark-reports", "week 46", charts[:1])
    responder.post_report("#hark-reports", "week 47", charts[:1])
    responder.post_report("C0QUEUE", "week 48", charts[:1])
    assert len(slack.of("conversations.list")) == 3  # three pages, for the first report only
    assert [c["channel_id"] for c in slack.of("files.completeUploadExternal")] == [
        "C0REPORT",
        "C0REPORT",
        "C0QUEUE",
    ]


def test_a_channel_the_bot_cannot_see_is_permanent_and_nothing_is_uploaded(
    slack: FakeSlack, charts: list[Path]
) -> None:
    with pytest.raises(PermanentError, match="#hark-elsewhere"):
        queue(slack).post_report("#hark-elsewhere", SUMMARY, charts)
    assert methods(slack) == ["conversations.list"]


def test_a_missing_chart_is_permanent_before_anything_is_sent(slack: FakeSlack, tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match=r"gone\.png"):
        queue(slack).post_report("C0REPORT", SUMMARY, [tmp_path / "gone.png"])
    assert slack.calls == []


def test_without_charts_the_summary_is_a_plain_message(slack: FakeSlack) -> None:
    ref = queue(slack).post_report("#hark-reports", SUMMARY, [])
    assert methods(slack) == ["chat.postMessage"]
    [message] = slack.of("chat.postMessage")
    assert message["channel"] == "#hark-reports"
    assert message["text"] == escape_mrkdwn(SUMMARY)
    assert message["mrkdwn"] in (False, "false", "0")
    assert ref == "1763000000.000001"  # the message's ts


@pytest.mark.parametrize(
    ("method", "code", "error"),
    [
        ("files.completeUploadExternal", "not_in_channel", PermanentError),
        ("files.getUploadURLExternal", "invalid_auth", AuthError),
        ("files.completeUploadExternal", "invalid_auth", AuthError),
    ],
)
def test_slack_refusing_the_upload_is_a_hark_error(
    slack: FakeSlack, charts: list[Path], method: str, code: str, error: type[Exception]
) -> None:
    slack.failures[method] = code
    with pytest.raises(error, match=code):
        queue(slack).post_report("C0REPORT", SUMMARY, charts)


def test_every_queue_responder_posts_reports(charts: list[Path]) -> None:
    out = io.StringIO()
    console = ConsoleQueueResponder(Console(file=out, width=120, highlight=False))
    recording = RecordingQueue()
    responders: list[QueueResponder] = [console, recording]  # mypy: each meets the contract
    refs = [r.post_report("#hark-reports", "[b]<!channel>[/b]", charts) for r in responders]
    assert refs == ["console-1", "report-1"]
    assert "[b]<!channel>[/b]" in out.getvalue()  # printed as written, never as console markup
    assert all(p.name in out.getvalue() for p in charts)
    assert recording.reports == [("#hark-reports", "[b]<!channel>[/b]", charts)]
