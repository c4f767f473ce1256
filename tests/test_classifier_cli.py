"""`hark eval` and `hark bench classify` with the shipped model (slow: they load the encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.datasets import is_held_out, read_jsonl, shipped_social_posts
from tests.test_cli import hark

pytestmark = pytest.mark.slow


def held_out_posts(tmp_path: Path, n: int) -> Path:
    examples = [e for path in shipped_social_posts() for e in read_jsonl(path) if is_held_out(e.text)][:n]
    out = tmp_path / "held_out.jsonl"
    out.write_text(
        "".join(
            json.dumps(
                {"text": e.text, "sentiment": e.sentiment, "intent": e.intent, "needs_reply": e.needs_reply}
            )
            + "\n"
            for e in examples
        )
    )
    return out


def test_eval_scores_every_task_present_in_the_file(tmp_path: Path) -> None:
    result = hark("eval", str(held_out_posts(tmp_path, 120)), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["n"] == 120
    for task in ("sentiment", "intent"):
        assert 0.0 <= report[task]["macro_f1"] <= 1.0
        assert sum(map(sum, report[task]["confusion"])) == 120
    assert 0.0 <= report["needs_reply"]["f1"] <= 1.0
    # the held-out posts were never trained on, yet the model must do far better than chance (1/8)
    assert report["intent"]["accuracy"] > 0.4


def test_eval_of_a_sentiment_only_file_omits_the_other_tasks(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"text": "I hate this, worst service ever", "sentiment": "negative"}\n')
    report = json.loads(hark("eval", str(path), "--json").stdout)
    assert set(report) == {"n", "model_version", "sentiment"}


def test_eval_of_a_bad_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n")
    result = hark("eval", str(path))
    assert result.returncode == 2
    assert "bad.jsonl:1" in result.stderr


def test_bench_prints_measured_numbers() -> None:
    result = hark("bench", "classify", "--n", "96", "--baseline-n", "16", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    numbers = json.loads(result.stdout)
    assert numbers["items_per_s"] > 0
    assert numbers["baseline_items_per_s"] > 0
    assert numbers["ratio"] == pytest.approx(
        numbers["items_per_s"] / numbers["baseline_items_per_s"], rel=0.02
    )
    assert 100 < numbers["peak_rss_mb"] < 4096
