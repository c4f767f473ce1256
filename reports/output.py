"""Write a weekly report's files (report.html, report.json, one PNG per chart) and its Slack summary."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.charts import draw_charts
from reports.html import minutes, pct, render_html
from reports.weekly import WeeklyReport


@dataclass(frozen=True)
class ReportFiles:
    folder: Path
    html: Path
    json: Path
    charts: list[Path]


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a reader (or a crash) never sees half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def write_report(report: WeeklyReport, brand: str, out_dir: Path) -> ReportFiles:
    """Into out_dir/<week>/; files of an earlier build of the same week are replaced."""
    folder = out_dir / report.figures["week"]
    folder.mkdir(parents=True, exist_ok=True)
    charts = draw_charts(report.figures)
    pngs = []
    for name, png in charts.items():
        path = folder / f"{name}.png"
        _write(path, png)
        pngs.append(path)
    html, data = folder / "report.html", folder / "report.json"
    _write(html, render_html(brand, report.figures, charts).encode("utf-8"))
    _write(data, (json.dumps(report.figures, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return ReportFiles(folder, html, data, pngs)


def _change(this: float, last: float) -> str:
    return f"{(this - last) / last * 100:+.0f}% on last week" if last else "none last week"


def summary(brand: str, figures: dict[str, Any]) -> str:
    """The report in a few plain lines, for Slack (sent as literal text: it holds customers' words)."""
    volume, sentiment, response = figures["volume"], figures["sentiment"], figures["response"]["overall"]
    lines = [
        f"{brand}, week {figures['week']}: {volume['total']} mentions "
        f"({_change(volume['total'], volume['last_week_total'])})",
        f"Net sentiment {pct(sentiment['this_week']['net'], signed=True)} "
        f"(last week {pct(sentiment['last_week']['net'], signed=True)}), "
        f"negative {pct(sentiment['this_week']['shares']['negative'])} "
        f"of {sentiment['this_week']['counted']}",
        f"First response: median {minutes(response['median_first_response_minutes'])}, "
        f"p90 {minutes(response['p90_first_response_minutes'])}, "
        f"{pct(response['within_target_share'])} within SLA, {response['unanswered']} unanswered",
        f"Leads: {figures['leads']['count']} (last week {figures['leads']['last_week_count']})",
    ]
    topics = figures["topics"][:3]
    if topics:
        lines.append(
            "Top topics: "
            + "; ".join(f"{t['name']} ({t['size']}{', new' if t['new'] else ''})" for t in topics)
        )
    if figures["changes"]:
        c = figures["changes"][0]
        lines.append(f"Changed most: {c['what']}, {c['last_week']} -> {c['this_week']}")
    return "\n".join(lines)
