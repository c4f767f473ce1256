"""Post replies on Reddit with praw (a comment under the post or comment)."""

from __future__ import annotations

from typing import Any

import praw

from hark.errors import PermanentError, TransientError
from hark.records import ReplyDraft


class RedditReplyResponder:
    name = "reddit"

    def __init__(self, reddit: praw.Reddit) -> None:
        self._reddit = reddit

    def deliver(self, draft: ReplyDraft) -> str:
        from listeners.reddit import translate_reddit_errors  # noqa: PLC0415  # one translation table

        with translate_reddit_errors(f"replying to {draft.in_reply_to}"):
            result: Any = self._reddit.request(
                method="POST",
                path="/api/comment",
                data={"thing_id": draft.in_reply_to, "text": draft.text, "api_type": "json"},
            )
        try:
            things = result["json"]["data"]["things"]
            return str(things[0]["data"]["name"])
        except (KeyError, IndexError, TypeError) as err:
            errors = (result or {}).get("json", {}).get("errors") if isinstance(result, dict) else None
            if errors:
                raise PermanentError(f"reddit refused the reply: {errors}") from err
            raise TransientError(f"reddit sent an unexpected reply body: {err!r}") from err
