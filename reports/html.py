"""The weekly report as one self-contained HTML file: charts inlined, every word from a post escaped."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),  # a post's text is data, not HTML
    undefined=StrictUndefined,  # a missing figure fails the build instead of printing nothing
    keep_trailing_newline=True,
)


def pct(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


def minutes(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def post(p: dict[str, Any]) -> Markup:
    """A post with its author and link (only http(s) links are links: a post cannot smuggle javascript:)."""
    who = f"{p['platform']} {p['author']}".strip()
    url = str(p.get("url") or "")
    link = Markup(' <a href="{}">open</a>').format(url) if url.startswith(("https://", "http://")) else ""
    meta = Markup('<p class="muted">{} · {} · {}{}</p>').format(
        who, p["created_at"][:16], p["sentiment"], link
    )
    return meta + Markup("<blockquote>{}</blockquote>").format(escape(p["text"]))


def render_html(brand: str, figures: dict[str, Any], charts: dict[str, bytes]) -> str:
    response = figures["response"]
    return _env.get_template("weekly.html.j2").render(
        brand=brand,
        f=figures,
        charts={name: base64.b64encode(png).decode("ascii") for name, png in charts.items()}
        | {n: "" for n in ("volume", "sentiment", "intents", "topics") if n not in charts},
        platforms=sorted({p for d in figures["volume"]["by_day"] for p in d["by_platform"]}),
        by_platform=list(response["by_platform"].items()),
        by_priority=[(f"priority {k}", v) for k, v in response["by_priority"].items()],
        pct=pct,
        minutes=minutes,
        post=post,
    )
