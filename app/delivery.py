"""The deliver stage: post approved replies once, retry what the platform could not take yet with backoff,
and after a crash reconcile what was being sent with the platform."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

import sqlalchemy.orm as so

from hark.errors import AuthError, PermanentError, TransientError
from responders.base import ReplyResponder
from store.replies import (
    approved_reply_ids,
    claim_reply,
    fail_interrupted_reply,
    interrupted_replies,
    mark_reply_sent,
    retry_reply,
    set_reply_status,
)
from store.switches import replies_paused

log = logging.getLogger(__name__)

Sessions = so.sessionmaker[so.Session]
MAX_ATTEMPTS = 6  # then the reply fails for a person: about an hour of a platform not taking it
FIRST_RETRY_S = 30.0
LONGEST_RETRY_S = 30 * 60.0


def retry_delay(attempts: int, retry_after_s: float | None) -> timedelta:
    """30 s, doubling per attempt up to 30 min, and never sooner than the platform asked."""
    wait = min(LONGEST_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1))
    return timedelta(seconds=max(wait, retry_after_s or 0.0))


def deliver_pending(
    sessions: Sessions,
    repliers: Mapping[str, ReplyResponder],
    kill_switch: bool,
    limit: int,
    only: Sequence[int] | None = None,
) -> int:
    """Send approved replies (or just the `only` ones, when approved and due): committed as `sending`
    before the call, `sent` after it.

    Nothing goes out while the kill switch is on or a person paused replies (`hark replies pause`); the
    pause is read before every reply, so a running process stops within one reply of it.
    """
    if kill_switch:
        return 0
    sent = 0
    resting: set[str] = set()  # platforms that answered "not now" in this batch
    with sessions() as session:
        ids = approved_reply_ids(session, limit, datetime.now(UTC), only=only)
    for reply_id in ids:
        with sessions.begin() as session:
            if replies_paused(session) is not None:
                log.info("replies_paused waiting=%d", len(ids) - sent)
                break
            draft = claim_reply(session, reply_id)
        if draft is None:  # someone else took it
            continue
        replier = repliers.get(draft.platform)
        if replier is None:
            _set_reply(sessions, reply_id, "failed", f"no reply responder for {draft.platform} is configured")
            continue
        if draft.platform in resting:
            _set_reply(sessions, reply_id, "approved", None)  # its platform is not taking replies right now
            continue
        try:
            # an earlier try ended in an error after the request left: the platform may hold that post
            earlier = replier.find(draft, draft.queued_at or datetime.now(UTC)) if draft.attempts else None
            if earlier is not None:
                with sessions.begin() as session:
                    mark_reply_sent(session, reply_id, earlier)
                log.info("reply_found_after_error reply=%d post=%s", reply_id, earlier)
                sent += 1
                continue
            post_id = replier.deliver(draft)
        except AuthError:  # nothing was posted: the reply waits, and a person must fix the credentials
            _set_reply(sessions, reply_id, "approved", None)
            raise
        except TransientError as err:  # nothing was posted: try again later, the platform's others too
            backoff = partial(retry_delay, retry_after_s=err.retry_after_s)
            with sessions.begin() as session:
                gave_up = retry_reply(session, reply_id, str(err), MAX_ATTEMPTS, backoff)
            log.warning("reply_retry reply=%d gave_up=%s error=%s", reply_id, gave_up, err)
            resting.add(draft.platform)
            continue
        except PermanentError as err:
            _set_reply(sessions, reply_id, "failed", str(err))
            log.error("reply_failed reply=%d error=%s", reply_id, err)
            continue
        with sessions.begin() as session:
            mark_reply_sent(session, reply_id, post_id)
        sent += 1
    return sent


def _set_reply(sessions: Sessions, reply_id: int, status: str, error: str | None) -> None:
    with sessions.begin() as session:
        set_reply_status(session, reply_id, status, error)


def recover_interrupted_replies(sessions: Sessions, repliers: Mapping[str, ReplyResponder]) -> dict[str, int]:
    """Replies a crash left `sending` are looked up on their platform: found, they are `sent` with the
    platform's id; certainly absent, they are approved again and sent once; when the platform cannot tell,
    they fail for a person to check. Never a second post."""
    with sessions() as session:
        interrupted = interrupted_replies(session)
    counts = {"found": 0, "resend": 0, "unknown": 0}
    for draft, since in interrupted:
        replier = repliers.get(draft.platform)
        why = f"no reply responder for {draft.platform} is configured"
        found: str | None = None
        if replier is not None:
            try:
                found = replier.find(draft, since)
                why = ""
            except (TransientError, AuthError, PermanentError) as err:
                why = str(err)
        if why:
            with sessions.begin() as session:
                fail_interrupted_reply(session, draft.reply_id, f"cannot tell: {why}")
            counts["unknown"] += 1
            continue
        with sessions.begin() as session:
            if found is not None:
                mark_reply_sent(session, draft.reply_id, found)
                log.info("reply_recovered reply=%d post=%s", draft.reply_id, found)
                counts["found"] += 1
            else:
                set_reply_status(session, draft.reply_id, "approved", None)
                log.info("reply_resend reply=%d reason=absent on the platform", draft.reply_id)
                counts["resend"] += 1
    return counts
