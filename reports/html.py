"""The weekly report as one self-contained HTML file: charts inlined, every word from a post escaped."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
# one Environment for the process: it parses the template once (jinja2's own cache), and holds no data
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


def when(iso: str) -> str:
    """'2026-11-18T07:00:00+01:00' as '2026-11-18 07:00'."""
    return iso[:16].replace("T", " ")


def label(name: str) -> str:
    return name.replace("_", " ")


def post(p: dict[str, Any], score: str | None = None) -> Markup:
    """A post with its author, its time, why it is listed, and its link (only http(s) links are links: a
    post cannot smuggle javascript:)."""
    who = f"{p['platform']} {p['author']}".strip()
    url = str(p.get("url") or "")
    link = (
        Markup(' <a href="{}" rel="noopener noreferrer nofollow">open</a>').format(url)
        if url.lower().startswith(("https://", "http://"))
        else ""
    )
    facts = [who, when(p["created_at"]), label(str(p["sentiment"])), label(str(p["intent"]))]
    if score and p.get("score") is not None:
        facts.append(f"{p['score']:g} {score}" if score == "engagements" else f"{score} {p['score']:.2f}")
    meta = Markup('<p class="muted">{}{}</p>').format(" · ".join(facts), link)
    return Markup("<article>{}<blockquote>{}</blockquote></article>").format(meta, p["text"])


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
        when=when,
        label=label,
    )
