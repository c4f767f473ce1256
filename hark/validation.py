"""Pydantic's validation errors as the one-line messages Hark prints."""

from __future__ import annotations

from pydantic import ValidationError


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem, `dotted.key  message`, joined so the operator sees every typo at once."""
    parts = []
    for item in err.errors(include_url=False):
        loc = ".".join(str(p) for p in item["loc"])
        where = ".".join(p for p in (prefix, loc) if p)
        parts.append(f"{where or '(top level)'}  {item['msg']}")
    return "; ".join(parts)
