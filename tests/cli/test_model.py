"""`hark eval` and `hark bench classify` with the shipped model (slow: they load the encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.datasets import is_held_out, read_jsonl, shipped_social_posts
from tests.cli.test_cli import hark
from tests.conftest import SHARED

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


def test_eval_of_a_file_without_labels_hark_scores_exits_2() -> None:
    irony = SHARED / "data" / "tweeteval_irony" / "test_text.txt"  # irony labels are no sentiment
    result = hark("eval", str(irony))
    assert result.returncode == 2
    assert "no example carries a sentiment, intent or needs_reply label" in result.stderr


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


def test_train_writes_small_loadable_heads_and_compares_before_and_after(tmp_path: Path) -> None:
    out = tmp_path / "heads"
    env = {"HARK_DATABASE_URL": f"sqlite:///{tmp_path}/hark.db"}
    first = hark(
        "train", "--out", str(out), "--epochs", "1", "--limit", "48", "--layers", "2", "--json", env=env
    )
    assert first.returncode == 0, first.stderr[-2000:]
    meta = json.loads(first.stdout)
    assert meta["layers"] == 2
    assert set(meta["metrics"]) == {"airline", "tweeteval_sentiment_test", "social_posts"}
    assert meta["metrics"]["airline"]["sentiment"]["n"] > 0
    assert all(f.stat().st_size < 5 * 1024 * 1024 for f in out.iterdir())
    assert (out / "MODEL_CARD.md").read_text().startswith("# Hark classifier heads: model card")

    config = tmp_path / "config.yaml"
    config.write_text(
        f"brand: {{name: B}}\nsources: [{{type: x, name: s, query: b}}]\nclassifier: {{heads: {out}}}\n"
    )
    labelled = hark("classify", "--config", str(config), "--json", "I love it")
    assert labelled.returncode == 0, labelled.stderr[-2000:]
    assert json.loads(labelled.stdout)["model_version"].startswith("hark-minilm-lora-")

    weights = {f.name: f.read_bytes() for f in out.glob("*.safetensors")}
    rescored = hark("train", "--out", str(out), "--score-only", "--limit", "48", "--json")
    assert rescored.returncode == 0, rescored.stderr[-2000:]
    assert json.loads(rescored.stdout)["metrics"]["social_posts"]["n"] > 0
    assert {f.name: f.read_bytes() for f in out.glob("*.safetensors")} == weights  # scored, not retrained

    again = hark(
        "train", "--out", str(out), "--epochs", "1", "--limit", "48", "--with-corrections", "--json", env=env
    )
    assert again.returncode == 0, again.stderr[-2000:]
    compared = json.loads(again.stdout)
    assert set(compared["metrics_before"]) == set(compared["metrics"])
    assert compared["train_sizes"]["corrections"] == 0
    assert "## Before this training run" in (out / "MODEL_CARD.md").read_text()  # what the user reads
    hark("train", "--out", str(out), "--score-only", "--limit", "48")
    assert "## Before this training run" not in (out / "MODEL_CARD.md").read_text()  # a stale "before"


def test_an_unknown_training_method_is_refused_before_any_work(tmp_path: Path) -> None:
    result = hark("train", "--out", str(tmp_path / "heads"), "--method", "magic")
    assert result.returncode == 2
    assert "unknown training method 'magic'" in result.stderr
    assert not (tmp_path / "heads").exists()


def test_both_runtimes_score_the_held_out_posts_alike(tmp_path: Path) -> None:
    """`classifier.runtime: torch` is the fallback for models ONNX cannot export; it must stay usable."""
    posts = held_out_posts(tmp_path, 200)
    reports = {}
    for runtime in ("onnx", "torch"):
        config = tmp_path / f"{runtime}.yaml"
        config.write_text(
            "brand: {name: B}\nsources: [{type: x, name: s, query: b}]\n"
            f"classifier: {{runtime: {runtime}, cache_dir: {tmp_path / runtime}}}\n"
        )
        result = hark("eval", str(posts), "--json", "--config", str(config))
        assert result.returncode == 0, result.stderr[-2000:]
        reports[runtime] = json.loads(result.stdout)
    assert [p.suffix for p in (tmp_path / "onnx").iterdir()] == [".onnx"]  # one exported encoder, cached
    assert not (tmp_path / "torch").exists()  # the torch runtime exports nothing
    for task in ("sentiment", "intent"):
        assert reports["torch"][task]["accuracy"] > 0.6
        assert abs(reports["onnx"][task]["accuracy"] - reports["torch"][task]["accuracy"]) < 0.05
