"""Pydantic's validation errors as the one-line messages Hark prints."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError


def zone_name(value: str) -> str:
    """An IANA time zone name, checked (a config field's validator)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)") from None
    return value


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem, `dotted.key  message`, joined so the operator sees every typo at once."""
    parts = []
    for item in err.errors(include_url=False):
        loc = ".".join(str(p) for p in item["loc"])
        where = ".".join(p for p in (prefix, loc) if p)
        parts.append(f"{where or '(top level)'}  {item['msg']}")
    return "; ".join(parts)
