"""`classifier.model` naming a sentiment classifier: its own sentiment head is used, our heads do the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, BertModel

from classifiers.transformer import native_sentiment_order, resolve_model_path
from hark.records import INTENTS
from tests.cli.test_cli import hark

# The labels in a scrambled order, as a checkpoint may have them; Hark must map them by name
LABELS = {0: "Positive", 1: "Negative", 2: "Neutral"}


def tiny_model(directory: Path, *, sentiment_head: bool) -> Path:
    """A small random BERT with the bundled tokenizer; the sentiment head always says Negative."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("bundled"))  # type: ignore[no-untyped-call]
    torch.manual_seed(0)
    config = BertConfig(  # type: ignore[no-untyped-call]  # transformers is untyped here
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()},
    )
    model: BertModel | BertForSequenceClassification
    if sentiment_head:
        model = BertForSequenceClassification(config)  # type: ignore[no-untyped-call]
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor([0.0, 12.0, 0.0]))
    else:
        model = BertModel(config)  # type: ignore[no-untyped-call]
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_sentiment_labels_are_mapped_by_name(tmp_path: Path) -> None:
    assert native_sentiment_order(str(tiny_model(tmp_path / "clf", sentiment_head=True))) == [1, 2, 0]
    assert native_sentiment_order(str(tiny_model(tmp_path / "enc", sentiment_head=False))) is None
    assert native_sentiment_order(resolve_model_path("bundled")) is None


@pytest.mark.slow
def test_a_sentiment_model_labels_sentiment_and_trained_heads_the_rest(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "clf", sentiment_head=True)
    heads = tmp_path / "heads"
    trained = hark(
        "train", "--model", str(model), "--method", "frozen", "--limit", "40", "--out", str(heads), "--json"
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    config = tmp_path / "config.yaml"
    config.write_text(
        "brand: {name: B}\nsources: [{type: x, name: s, query: b}]\n"
        f"classifier: {{model: {model}, heads: {heads}, quantize: false}}\n"
    )
    result = hark(
        "classify", "--config", str(config), "--json", "I love it, best bike ever", "where is my order"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    labels = [json.loads(line) for line in result.stdout.splitlines()]
    assert [label["sentiment"] for label in labels] == ["negative", "negative"]  # the model's head, by name
    assert all(label["sentiment_score"] > 0.99 for label in labels)
    assert all(label["intent"] in INTENTS for label in labels)  # from the heads trained on this encoder
