"""Post replies on X with tweepy's Client (user-context OAuth 1.0a)."""

from __future__ import annotations

from typing import Any

from hark.records import ReplyDraft
from listeners.x import call_x, make_client


class XReplyResponder:
    name = "x"

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def from_credentials(cls, base_url: str, **credentials: str) -> XReplyResponder:
        return cls(make_client(base_url, **credentials))

    def deliver(self, draft: ReplyDraft) -> str:
        response = call_x(
            f"replying to {draft.in_reply_to}",
            self._client.create_tweet,
            text=draft.text,
            in_reply_to_tweet_id=draft.in_reply_to,
            user_auth=True,
        )
        return str(response["data"]["id"])
