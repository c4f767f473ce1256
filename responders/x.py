"""Post replies on X through platforms/x (user-context OAuth 1.0a)."""

from __future__ import annotations

from datetime import datetime

from hark.records import ReplyDraft
from platforms.x import NAME
from platforms.x.client import XApi


class XReplyResponder:
    name = NAME

    def __init__(self, api: XApi) -> None:
        self._api = api

    @classmethod
    def from_credentials(cls, base_url: str, **credentials: str) -> XReplyResponder:
        return cls(XApi.posting(base_url, **credentials))

    def deliver(self, draft: ReplyDraft) -> str:
        return self._api.post_reply(draft.in_reply_to, draft.text)

    def find(self, draft: ReplyDraft, since: datetime) -> str | None:
        return self._api.find_reply(draft.in_reply_to, since)
