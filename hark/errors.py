"""Hark's error classes: the only exceptions that cross a stage boundary."""

from __future__ import annotations


class HarkError(Exception):
    """Base class of every error Hark raises on purpose."""


class ConfigError(HarkError):
    """The configuration, a secret or the database URL is unusable; raised at startup (exit 2)."""


class UsageError(HarkError):
    """Input named on the command line is unusable (a missing or malformed file); exit 2."""


class TransientError(HarkError):
    """The operation may succeed later; retry after `retry_after_s` seconds if the server said so."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AuthError(HarkError):
    """Credentials were rejected: stop the job and alert, retrying cannot help."""


class PermanentError(HarkError):
    """The operation will never succeed (a deleted post, a forbidden reply, a bad query)."""
