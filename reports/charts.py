"""The weekly report's charts as PNG bytes (matplotlib's Agg backend: no display, no network)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib as mpl

mpl.use("Agg")  # before pyplot: a server has no display

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

COLORS = {"positive": "#2e7d32", "neutral": "#9e9e9e", "negative": "#c62828"}
PLATFORM_COLORS = {"x": "#37474f", "reddit": "#ff5722", "bluesky": "#1e88e5", "mastodon": "#6a1b9a"}
OTHER_COLORS = ("#00838f", "#558b2f", "#8d6e63")
DPI = 110


def _png(draw: Callable[[Figure], None], size: tuple[float, float] = (7.5, 3.2)) -> bytes:
    figure = plt.figure(figsize=size, dpi=DPI)
    try:
        draw(figure)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)  # pyplot keeps every open figure: a scheduler process would grow


def volume_by_day(figures: dict[str, Any]) -> bytes:
    days = figures["volume"]["by_day"]
    platforms = sorted({p for d in days for p in d["by_platform"]})

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        labels = [d["date"][5:] for d in days]
        bottom = [0] * len(days)
        for i, platform in enumerate(platforms):
            values = [d["by_platform"].get(platform, 0) for d in days]
            color = PLATFORM_COLORS.get(platform, OTHER_COLORS[i % len(OTHER_COLORS)])
            ax.bar(labels, values, bottom=bottom, label=platform, color=color)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title("Mentions per day")
        if platforms:
            ax.legend(loc="upper left", fontsize=8)

    return _png(draw)


def sentiment_trend(figures: dict[str, Any]) -> bytes:
    trend = figures["sentiment"]["trend"]

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        labels = [w["week"][5:] for w in trend]
        bottom = [0.0] * len(trend)
        for sentiment in ("negative", "neutral", "positive"):
            values = [w[sentiment] for w in trend]
            ax.bar(labels, values, bottom=bottom, color=COLORS[sentiment], label=sentiment, alpha=0.8)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_ylabel("relevant mentions")
        ax.legend(loc="upper left", fontsize=8)
        line = ax.twinx()
        nets = [w["net"] if w["net"] is not None else float("nan") for w in trend]
        line.plot(labels, nets, color="black", marker="o", label="net sentiment")
        line.set_ylim(-1.05, 1.05)  # a week at +1 or -1 keeps its whole marker
        line.axhline(0, color="black", linewidth=0.5)
        line.set_ylabel("net sentiment")
        ax.set_title(f"Sentiment, {len(trend)} weeks")
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)

    return _png(draw)


def intents(figures: dict[str, Any]) -> bytes:
    this, last = figures["intents"]["this_week"], figures["intents"]["last_week"]
    names = list(this)

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        rows = range(len(names))
        ax.barh([r + 0.2 for r in rows], [this[n] for n in names], height=0.4, label="this week")
        ax.barh([r - 0.2 for r in rows], [last[n] for n in names], height=0.4, label="last week", alpha=0.5)
        ax.set_yticks(list(rows), [n.replace("_", " ") for n in names])
        ax.invert_yaxis()
        ax.set_title("Intents of relevant mentions")
        ax.legend(fontsize=8)

    return _png(draw)


def topics(figures: dict[str, Any]) -> bytes:
    shown = figures["topics"][:10]

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        names = [t["name"][:40] + (" (new)" if t["new"] else "") for t in shown]
        ax.barh(range(len(shown)), [t["size"] for t in shown], color="#455a64")
        ax.set_yticks(list(range(len(shown))), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_title("What people ask and complain about")

    return _png(draw, (7.5, 0.6 + 0.35 * max(1, len(shown))))


CHARTS: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "volume": volume_by_day,
    "sentiment": sentiment_trend,
    "intents": intents,
    "topics": topics,
}


def draw_charts(figures: dict[str, Any]) -> dict[str, bytes]:
    """Each chart the figures have data for, by name."""
    return {name: draw(figures) for name, draw in CHARTS.items() if name != "topics" or figures["topics"]}
