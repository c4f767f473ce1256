"""Post replies on Reddit through platforms/reddit (a comment under the post or comment)."""

from __future__ import annotations

from datetime import datetime

from hark.records import ReplyDraft
from platforms.reddit import NAME
from platforms.reddit.client import RedditApi


class RedditReplyResponder:
    name = NAME

    def __init__(self, api: RedditApi) -> None:
        self._api = api

    def deliver(self, draft: ReplyDraft) -> str:
        return self._api.post_comment(draft.in_reply_to, draft.text)

    def find(self, draft: ReplyDraft, since: datetime) -> str | None:
        return self._api.find_comment(draft.in_reply_to, since)
