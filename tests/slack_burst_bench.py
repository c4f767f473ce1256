"""Measure a burst of new cards to one Slack channel: paced at Slack's one message a second, against a fake
Slack that answers 429 (Retry-After) to anything faster, digested past the channel's fill for the minute.

    .venv/bin/python -m tests.slack_burst_bench --cards 200 --pace 1.0

Prints one JSON document: cards posted, digested, 429s Slack sent (each retried), seconds until every post was
in the channel as a card or a digest line, and how long the drain to one card each takes at the cap.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from pytest_httpserver import HTTPServer

from responders.config import QueueConfig
from store.db import make_engine, make_sessions, upgrade
from tests.responders import test_slack_burst as burst_test
from tests.slack_peer import FakeSlack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--pace", type=float, default=1.0, help="seconds between messages to one channel")
    parser.add_argument("--cap", type=int, default=10, help="digest_after_per_minute")
    parser.add_argument("--slack-gap", type=float, help="the fake Slack's own limit (default: the pace)")
    args = parser.parse_args(argv)
    burst_test.BURST = args.cards
    burst_test.QUEUE = QueueConfig(type="slack", slack_pace_s=args.pace, digest_after_per_minute=args.cap)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        slack = FakeSlack(server, min_gap_s=args.pace if args.slack_gap is None else args.slack_gap)
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            upgrade(engine)
            started = time.monotonic()
            burst_test.burst(make_sessions(engine), slack)
            seconds = time.monotonic() - started
            engine.dispose()
    finally:
        server.stop()
    posted = len(burst_test.posted_cards(slack))
    held = args.cards - posted
    print(  # noqa: T201  # the benchmark's output
        json.dumps(
            {
                "cards": args.cards,
                "posted_as_cards": posted,
                "in_the_digest": held,
                "messages": len(slack.of("chat.postMessage")),
                "slack_429s_retried": slack.refused,
                "seconds_until_all_shown": round(seconds, 1),
                "minutes_to_drain_at_the_cap": math.ceil(held / args.cap),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
