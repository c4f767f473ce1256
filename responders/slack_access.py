"""Who may do what from Slack: config lists user ids and user groups; a group's members are asked of Slack."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

GROUP_TTL_S = 300.0  # a member added to a group can act within five minutes


class SlackAccess:
    """Answers "may this user do it?" for one list of users and user groups (nobody, when it is empty)."""

    def __init__(self, client: WebClient, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        self._client = client
        self._users = frozenset(a for a in allowed if not a.startswith("S"))
        self._groups = tuple(a for a in allowed if a.startswith("S"))
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    @property
    def anyone_configured(self) -> bool:
        return bool(self._users or self._groups)

    def allows(self, user_id: str) -> bool:
        if user_id in self._users:
            return True
        return any(user_id in self._group_members(group) for group in self._groups)

    def _group_members(self, group: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._members.get(group)
        if cached is not None and now - cached[0] < GROUP_TTL_S:
            return cached[1]
        try:
            response = self._client.usergroups_users_list(usergroup=group)
        except (SlackApiError, OSError) as err:  # cannot tell: nobody gets in through this group for now
            log.warning("slack_group_unreadable group=%s error=%s", group, _code(err))
            return cached[1] if cached is not None else frozenset()
        members = frozenset(str(user) for user in response.get("users") or ())
        with self._lock:
            self._members[group] = (now, members)
        return members


def _code(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error") or err.response.status_code)
    return type(err).__name__
