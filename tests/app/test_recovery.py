"""After a crash, a reply left `sending` is looked up on its platform: found, it is sent; certainly absent,
it goes out once; when the platform cannot tell, a person checks. Never a second post."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from app.delivery import deliver_pending, recover_interrupted_replies
from app.pipeline import poll_once
from hark.errors import TransientError
from hark.records import INTENTS, ReplyDraft
from responders.x import XReplyResponder
from store.db import Sessions
from store.models import MentionRow, ReplyRow
from store.replies import claim_reply, queue_reply
from tests import builders
from tests.conftest import REPO
from tests.fake_platforms import BRAND_HANDLE, BRAND_ID, FakeX
from tests.fakes import ListListener, RecordingReplier


def interrupted(sessions: Sessions, *numbers: int) -> list[int]:
    """Replies claimed for sending, as a crash right after the platform call leaves them."""
    poll_once(
        ListListener("src", [builders.mention(n, author=f"a{n}") for n in numbers]),
        sessions,
        builders.own_accounts(),
    )
    ids = []
    with sessions.begin() as session:
        for row in session.scalars(sa.select(MentionRow).order_by(MentionRow.id)):
            queue_reply(
                session,
                row,
                f"Thanks, {row.author_handle}!",
                template="thanks",
                status="approved",
                approved_by="auto",
            )
    with sessions() as session:
        ids = list(session.scalars(sa.select(ReplyRow.id).order_by(ReplyRow.id)))
    for reply_id in ids:
        with sessions.begin() as session:
            claim_reply(session, reply_id)
    return ids


def status(sessions: Sessions) -> dict[int, tuple[str, str | None]]:
    with sessions() as session:
        return {r.id: (r.status, r.platform_post_id) for r in session.scalars(sa.select(ReplyRow))}


def draft(reply_id: int, in_reply_to: str) -> ReplyDraft:
    return ReplyDraft(
        reply_id=reply_id,
        platform="x",
        in_reply_to=in_reply_to,
        author_handle="ann",
        text=f"Thanks #{reply_id}!",
        idempotency_key=f"reply:x:{in_reply_to}",
    )


class Unsure(RecordingReplier):
    def find(self, draft: ReplyDraft, since: datetime) -> str | None:
        raise TransientError("x unavailable while reading our recent posts: HTTP 503")


def test_a_reply_the_platform_has_is_marked_sent_and_never_posted_again(sessions: Sessions) -> None:
    first, second = interrupted(sessions, 1, 2)
    platform = RecordingReplier()
    platform.deliver(
        ReplyDraft(
            reply_id=first,
            platform="x",
            in_reply_to="1001",
            author_handle="a1",
            text="Thanks, a1!",
            idempotency_key="k",
        )
    )
    assert recover_interrupted_replies(sessions, {"x": platform}) == {"found": 1, "resend": 1, "unknown": 0}
    assert status(sessions)[first] == ("sent", "post-1")
    assert status(sessions)[second] == ("approved", None)  # certainly absent: it goes out once
    assert deliver_pending(sessions, {"x": platform}, False, 10) == 1
    assert [d.in_reply_to for d in platform.drafts] == ["1001", "1002"]
    assert recover_interrupted_replies(sessions, {"x": platform}) == {"found": 0, "resend": 0, "unknown": 0}


def test_when_the_platform_cannot_tell_a_person_checks(sessions: Sessions) -> None:
    [reply_id] = interrupted(sessions, 1)
    assert recover_interrupted_replies(sessions, {"x": Unsure()}) == {"found": 0, "resend": 0, "unknown": 1}
    with sessions() as session:
        reply = session.get_one(ReplyRow, reply_id)
    assert reply.status == "failed"
    assert reply.error is not None
    assert "check the platform before sending again (cannot tell: x unavailable" in reply.error
    assert recover_interrupted_replies(sessions, {}) == {"found": 0, "resend": 0, "unknown": 0}


def test_x_finds_our_reply_by_its_target_through_tweepy(fake_x: FakeX) -> None:
    replier = XReplyResponder.from_credentials(
        fake_x.url,
        consumer_key="test-x_api_key",
        consumer_secret="s",
        access_token="t",
        access_token_secret="ts",
    )
    since = datetime.now(UTC)
    draft = ReplyDraft(
        reply_id=1,
        platform="x",
        in_reply_to="1850000000000000001",
        author_handle="ann",
        text="Thanks!",
        idempotency_key="k1",
    )
    assert replier.find(draft, since) is None
    posted = replier.deliver(draft)
    assert replier.find(draft, since) == posted
    other = ReplyDraft(
        reply_id=2,
        platform="x",
        in_reply_to="1850000000000000002",
        author_handle="bo",
        text="Hi",
        idempotency_key="k2",
    )
    assert replier.find(other, since) is None


def crash_config(tmp_path: Path, fake: FakeX) -> Path:
    """Live replies on the fake X, to every post that names us, whatever the model thinks of it."""
    config = {
        "brand": {"name": "Nimbus Cycles", "accounts": {"x": {BRAND_HANDLE: BRAND_ID}}, "terms": ["nimbus"]},
        "sources": [
            {
                "type": "x",
                "name": "x-mentions",
                "mode": "mentions",
                "user_id": BRAND_ID,
                "api_base_url": fake.url,
            }
        ],
        "routing": {
            "rules": [
                {
                    "name": "thank everyone",
                    "when": {"relevant": True},
                    "action": "auto_reply",
                    "template": "t",
                }
            ],
            "templates": {"t": "Thank you, {{ handle }}!"},
        },
        "responders": {
            "queue": {"type": "console"},
            "replies": {
                "dry_run": False,
                "allowed_intents": list(INTENTS),
                "min_confidence": 0,
                "block_negative": False,
                "sensitive_terms": [],
                "max_per_author_per_day": 10,
            },
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_kill_between_the_platform_and_the_database_ends_with_exactly_one_reply(
    fake_x: FakeX, tmp_path: Path
) -> None:
    fake_x.add_mentions(4)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("X_", "REDDIT_", "SLACK_", "HARK_"))},
        "HARK_CONFIG": str(crash_config(tmp_path, fake_x)),
        "HARK_DATABASE_URL": f"sqlite:///{tmp_path / 'hark.db'}",
        "X_BEARER_TOKEN": fake_x.bearer_token,
        "X_API_KEY": fake_x.posting_key,
        "X_API_SECRET": "s",
        "X_ACCESS_TOKEN": "t",
        "X_ACCESS_TOKEN_SECRET": "ts",
    }
    command = [sys.executable, str(REPO / "main.py"), "run", "--once", "--json"]
    first = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )

    def kill_once() -> None:  # SIGKILL just after X stored the post, before Hark hears back
        first.kill()
        fake_x.on_post = None

    fake_x.on_post = kill_once
    _, stderr = first.communicate(timeout=600)
    assert first.returncode == -signal.SIGKILL, stderr
    assert len(fake_x.posted) == 1
    with sqlite3.connect(tmp_path / "hark.db") as db:
        statuses = sorted(status for (status,) in db.execute("SELECT status FROM replies"))
    assert statuses == ["approved", "approved", "approved", "sending"]  # the killed one never heard back
    second = subprocess.run(
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=600, check=False
    )
    assert second.returncode == 0, second.stderr
    assert "reply_recovered" in second.stderr
    targets = [p["in_reply_to"] for p in fake_x.posted]
    assert sorted(targets) == sorted(set(targets))  # each post answered exactly once, the killed one too
    assert len(targets) == 4
    with sqlite3.connect(tmp_path / "hark.db") as db:
        rows = db.execute("SELECT status, platform_post_id FROM replies ORDER BY id").fetchall()
    assert [status for status, _ in rows] == ["sent"] * 4
    assert {post_id for _, post_id in rows} == {p["id"] for p in fake_x.posted}
