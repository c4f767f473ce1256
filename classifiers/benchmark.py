"""`hark bench classify`: our classifier against a naive fp32, one-text-per-call baseline, in one run."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from classifiers.base import MENTIONS_PER_CALL, Classifier
from classifiers.evaluation import as_mentions
from classifiers.heads import Head
from classifiers.transformer import SentenceEncoder

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample_texts(n: int) -> list[str]:
    """Real-looking mention texts from the replay samples, repeated to reach n."""
    texts: list[str] = []
    for page in json.loads((SAMPLES / "x_mentions.json").read_text(encoding="utf-8")):
        texts += [t["text"] for t in page.get("data", [])]
    for listing in json.loads((SAMPLES / "reddit_listing.json").read_text(encoding="utf-8")):
        for child in listing["data"]["children"]:
            data = child["data"]
            texts.append(data.get("body") or f"{data.get('title', '')}\n\n{data.get('selftext', '')}".strip())
    return [texts[i % len(texts)] for i in range(n)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def time_classifier(classifier: Classifier, texts: Sequence[str], batch: int = MENTIONS_PER_CALL) -> float:
    mentions = as_mentions(texts)
    start = time.perf_counter()
    for offset in range(0, len(mentions), batch):
        classifier.classify(mentions[offset : offset + batch])
    return len(texts) / (time.perf_counter() - start)


def time_naive(encoder: SentenceEncoder, heads: dict[str, Head], texts: Sequence[str]) -> float:
    """The baseline: the heads' encoder (adapter merged) in fp32 under torch, one text per forward call,
    every head applied."""
    start = time.perf_counter()
    for text in texts:
        vector = encoder.encode([text])
        for head in heads.values():
            head.probabilities(vector)
    return len(texts) / (time.perf_counter() - start)


def bench(
    classifier: Classifier,
    baseline: Callable[[], SentenceEncoder],
    heads: dict[str, Head],
    *,
    n: int,
    baseline_n: int,
    corpus: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Time both on the same texts: `corpus` repeated to n, or the replay samples by default.

    The baseline model is only built after our peak RSS is read, so that figure is ours alone.
    """
    texts = [corpus[i % len(corpus)] for i in range(n)] if corpus else sample_texts(n)
    classifier.classify(as_mentions(texts[:32]))  # warm-up: first calls allocate
    ours = time_classifier(classifier, texts)
    rss = peak_rss_mb()  # before the baseline model adds its own memory
    with torch.inference_mode():
        naive = time_naive(baseline(), heads, texts[:baseline_n])
    return {
        "n": n,
        "baseline_n": baseline_n,
        "items_per_s": round(ours, 1),
        "baseline_items_per_s": round(naive, 1),
        "ratio": round(ours / naive, 2),
        "peak_rss_mb": round(rss, 1),
        "threads": torch.get_num_threads(),
    }
