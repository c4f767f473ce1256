"""`hark train`, `classify`, `eval` and `bench classify`: the classifier's own tools."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.conventions import ConfigOption, JsonOption, emit_json, exits_cleanly, load_app_config, open_db

if TYPE_CHECKING:
    from classifiers.finetune import FinetuneSettings

log = logging.getLogger("hark")


@exits_cleanly
def train(
    data: Annotated[Path, typer.Option(help="folder of the shared labelled datasets")] = Path(
        "../shared/data"
    ),
    out: Annotated[Path, typer.Option(help="where to write the heads")] = Path("classifiers/model"),
    model: Annotated[str, typer.Option(help="encoder: bundled, a local directory or a hub id")] = "bundled",
    method: Annotated[
        str, typer.Option(help="lora (fine-tune adapters) or frozen (linear heads only)")
    ] = "lora",
    epochs: Annotated[int, typer.Option(min=1, help="passes over the data (lora)")] = 2,
    layers: Annotated[
        int | None,
        typer.Option(min=1, help="keep the first N encoder layers (lora; faster)"),
    ] = None,
    with_corrections: Annotated[
        bool, typer.Option("--with-corrections", help="add the team's label corrections from the database")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=8, help="at most this many examples per task (smoke runs)")
    ] = None,
    score_only: Annotated[
        bool,
        typer.Option("--score-only", help="only re-score the heads in --out on the held-out splits"),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Fit the sentiment, intent and needs-reply heads and write them with a model card.

    With --with-corrections the current heads are scored first, so the card shows before and after.
    """
    from classifiers.finetune import FinetuneSettings  # noqa: PLC0415
    from classifiers.training import rescore  # noqa: PLC0415
    from classifiers.transformer import resolve_model_path  # noqa: PLC0415

    if score_only:
        meta = rescore(data, out, resolve_model_path(model), limit=limit)
    else:
        settings = FinetuneSettings(epochs=epochs, layers=layers)
        meta = _fit(data, out, resolve_model_path(model), method, settings, with_corrections, limit)
    if as_json:
        emit_json(meta)
    else:
        typer.echo((out / "MODEL_CARD.md").read_text(encoding="utf-8"))


def _fit(
    data: Path,
    out: Path,
    model_path: str,
    method: str,
    settings: FinetuneSettings,
    with_corrections: bool,
    limit: int | None,
) -> dict[str, Any]:
    """`hark train` proper, with a progress bar on stderr."""
    from rich.progress import Progress  # noqa: PLC0415

    from classifiers.datasets import examples_from_corrections  # noqa: PLC0415
    from classifiers.training import train as fit  # noqa: PLC0415

    extra = []
    if with_corrections:
        from store.labels import corrected_texts  # noqa: PLC0415

        db = open_db()
        with db.sessions() as session:
            extra = examples_from_corrections(corrected_texts(session))
        log.info("corrections_loaded examples=%d", len(extra))
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"training ({method})", total=None)
        meta: dict[str, Any] = fit(
            data,
            out,
            model_path,
            method=method,
            settings=settings,
            extra=extra,
            compare_with_current=with_corrections,
            limit=limit,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    return meta


@exits_cleanly
def classify(
    texts: Annotated[list[str], typer.Argument(help="posts to classify")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Classify texts with the configured model and print the labels."""
    from classifiers.evaluation import as_mentions  # noqa: PLC0415
    from classifiers.registry import build_classifier  # noqa: PLC0415
    from classifiers.relevance import RelevanceRules  # noqa: PLC0415

    cfg = load_app_config(config)
    classifier = build_classifier(cfg.classifier, RelevanceRules.for_brand(cfg.brand))
    mentions = as_mentions(texts)
    for text, label in zip(texts, classifier.classify(mentions), strict=True):
        document = {
            "text": text,
            "language": label.language,
            "relevant": label.relevant,
            "sentiment": label.sentiment,
            "sentiment_score": label.sentiment_score,
            "intent": label.intent,
            "intent_scores": dict(label.intent_scores),
            "needs_reply": label.needs_reply,
            "priority": label.priority,
            "model_version": label.model_version,
        }
        if as_json:
            sys.stdout.write(json.dumps(document) + "\n")
        else:
            typer.echo(
                f"{label.sentiment:8} {label.intent:16} reply={label.needs_reply!s:5} "
                f"P{label.priority:<3} {text}"
            )


def _eval_classifier(config: Path | None) -> Any:
    """The configured classifier with relevance switched off: labelled sets are about other brands."""
    from classifiers.registry import build_classifier  # noqa: PLC0415
    from classifiers.relevance import RelevanceRules  # noqa: PLC0415

    cfg = load_app_config(config)
    return cfg, build_classifier(cfg.classifier, RelevanceRules.build((), (), ()))


@exits_cleanly
def evaluate(
    path: Annotated[Path, typer.Argument(help="airline CSV, TweetEval *_text.txt, Bitext CSV or JSONL")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score the classifier on a labelled file: accuracy and macro-F1 per task, with confusion matrices."""
    from classifiers.datasets import DatasetError, read_labelled  # noqa: PLC0415
    from classifiers.evaluation import evaluate_classifier  # noqa: PLC0415

    examples = read_labelled(path)
    if not any(e.sentiment or e.intent or e.needs_reply is not None for e in examples):
        raise DatasetError(f"{path}: no example carries a sentiment, intent or needs_reply label to score")
    _, classifier = _eval_classifier(config)
    report = evaluate_classifier(classifier, examples)
    if as_json:
        emit_json(report)
        return
    console = Console(highlight=False)
    console.print(f"{path}: {report['n']} examples, model {report['model_version']}")
    for task in ("sentiment", "intent"):
        if task in report:
            scores = report[task]
            console.print(
                f"{task}: accuracy {scores['accuracy']:.3f}  macro-F1 {scores['macro_f1']:.3f}  "
                f"macro-recall {scores['macro_recall']:.3f}"
            )
            matrix = Table("gold \\ predicted", *scores["labels"])
            for label, row in zip(scores["labels"], scores["confusion"], strict=True):
                matrix.add_row(label, *(str(v) for v in row))
            console.print(matrix)
    if "needs_reply" in report:
        console.print(f"needs_reply: F1 {report['needs_reply']['f1']:.3f}")


bench_cli = typer.Typer(help="Benchmarks that print measured numbers.", no_args_is_help=True)


@bench_cli.command("classify")
@exits_cleanly
def bench_classify(
    n: Annotated[int, typer.Option("--n", min=1, help="mentions to classify")] = 2000,
    baseline_n: Annotated[int, typer.Option(min=1, help="mentions for the slow baseline")] = 600,
    texts: Annotated[
        Path | None, typer.Option(help="a labelled file whose texts to use (default: the replay samples)")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Our classifier's mentions/s and peak RSS against the same model in fp32, one text per call."""
    from classifiers.benchmark import bench  # noqa: PLC0415
    from classifiers.heads import load_heads  # noqa: PLC0415
    from classifiers.transformer import SHIPPED_HEADS, SentenceEncoder, resolve_model_path  # noqa: PLC0415

    corpus = None
    if texts is not None:
        from classifiers.datasets import DatasetError, read_labelled  # noqa: PLC0415

        corpus = [e.text for e in read_labelled(texts)]
        if not corpus:
            raise DatasetError(f"{texts}: no texts to time")
    cfg, classifier = _eval_classifier(config)
    heads, adapter, meta = load_heads(cfg.classifier.heads or SHIPPED_HEADS)

    def baseline() -> SentenceEncoder:
        # the shipped or configured heads' own encoder, but fp32 under torch and one text per call
        return SentenceEncoder.for_heads(
            resolve_model_path(cfg.classifier.model),
            adapter,
            meta,
            max_length=cfg.classifier.max_length,
            batch_size=1,
            quantize=False,
        )

    result = bench(classifier, baseline, heads, n=n, baseline_n=min(n, baseline_n), corpus=corpus)
    result["texts"] = str(texts) if texts is not None else "samples/"
    if as_json:
        emit_json(result)
    else:
        typer.echo(" ".join(f"{k}={v}" for k, v in result.items()))
