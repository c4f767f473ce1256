"""The `onnx` runtime: the exported encoder computes what torch computes, keeps the outlier-prone maps in
float, and its on-disk cache is reused, rebuilt for new weights, and repaired when damaged."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import onnx
import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
)

from classifiers import onnx_encoder
from classifiers.onnx_encoder import PRUNE_AFTER, ExportError, OnnxEncoder, export
from classifiers.pooling import PooledEncoder
from classifiers.training import scoring_encoder
from classifiers.transformer import SentenceEncoder
from hark.errors import ConfigError
from tests.classifiers.test_parts import bert
from tests.classifiers.test_sentiment_model import tiny_model

# shorter and longer than the 8-token sample the export traces with; the first row is padded
IDS = torch.tensor([[1, 5, 7, 9, 2, 0, 0], [1, 8, 3, 4, 6, 11, 2]])
MASK = torch.tensor([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]])
LONG_IDS = torch.arange(1, 61).reshape(3, 20) % 49 + 1
LONG_MASK = torch.ones_like(LONG_IDS)
LONG_MASK[1, 12:] = 0


def torch_pooled(encoder: PooledEncoder) -> torch.Tensor:
    with torch.no_grad():
        pooled: torch.Tensor = encoder(IDS, MASK)[0]
    return pooled


def test_the_exported_encoder_pools_like_torch_on_padded_batches(tmp_path: Path) -> None:
    encoder = PooledEncoder(bert(32, layers=3), None)
    expected = torch_pooled(encoder)
    fp32 = OnnxEncoder(encoder, quantize=False, threads=1, cache_dir=tmp_path)
    (pooled,) = fp32(IDS, MASK)
    assert torch.allclose(pooled, expected, atol=1e-4)
    # the padding of the first row must not leak in: its pooled vector equals the unpadded one's
    (alone,) = fp32(IDS[:1, :5], MASK[:1, :5])
    assert torch.allclose(alone[0], pooled[0], atol=1e-4)
    with torch.no_grad():
        (expected_long,) = encoder(LONG_IDS, LONG_MASK)
    (long,) = fp32(LONG_IDS, LONG_MASK)
    assert long.shape == (3, 32)
    assert torch.allclose(long, expected_long, atol=1e-4)
    (int8,) = OnnxEncoder(encoder, quantize=True, threads=1, cache_dir=tmp_path)(IDS, MASK)
    assert not torch.equal(int8, pooled)  # really quantised...
    assert torch.nn.functional.cosine_similarity(int8, expected).min() > 0.98  # ...and still the same vectors


def test_int8_export_keeps_the_first_feed_forward_down_projections_in_float(tmp_path: Path) -> None:
    path = tmp_path / "encoder.onnx"
    export(PooledEncoder(bert(32, layers=3), None), path, quantize=True)
    nodes = onnx.load(str(path)).graph.node
    float_matmuls = {n.name for n in nodes if n.op_type == "MatMul" and "/dense/" in n.name}
    assert float_matmuls == {
        "/model/encoder/layer.0/output/dense/MatMul",
        "/model/encoder/layer.1/output/dense/MatMul",
    }
    assert sum(n.op_type == "MatMulInteger" for n in nodes) == 3 * 6 - 2  # q, k, v, out, up, down per layer


def test_a_sentiment_classifier_exports_its_own_sentiment_in_hark_order(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = BertConfig(  # type: ignore[no-untyped-call]  # transformers is untyped here
        vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32
    )
    config.num_labels = 3
    model = BertForSequenceClassification(config).eval()  # type: ignore[no-untyped-call]
    encoder = PooledEncoder(model, [2, 0, 1])
    with torch.no_grad():
        expected_pooled, expected_sentiment = encoder(IDS, MASK)
        logits = model(input_ids=IDS, attention_mask=MASK).logits
    assert torch.allclose(expected_sentiment, torch.softmax(logits, -1)[:, [2, 0, 1]])
    pooled, sentiment = OnnxEncoder(encoder, quantize=False, threads=1, cache_dir=tmp_path)(IDS, MASK)
    assert torch.allclose(pooled, expected_pooled, atol=1e-4)
    assert torch.allclose(sentiment, expected_sentiment, atol=1e-4)


def test_the_cache_is_reused_rebuilt_for_new_weights_and_repaired(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="classifiers.onnx_encoder")
    model = bert(16)
    encoder = PooledEncoder(model, None)
    OnnxEncoder(encoder, quantize=True, threads=1, cache_dir=tmp_path)
    [built] = tmp_path.iterdir()
    inode = built.stat().st_ino  # a rebuilt file is a new file moved into place
    caplog.clear()
    OnnxEncoder(encoder, quantize=True, threads=1, cache_dir=tmp_path)
    assert built.stat().st_ino == inode
    assert "onnx_cache_built" not in caplog.text

    weight = model.get_parameter("encoder.layer.0.intermediate.dense.weight")
    original = weight.detach().clone()
    with torch.no_grad():  # what a retrained adapter does to the merged weights
        weight.add_(0.01)
    OnnxEncoder(encoder, quantize=True, threads=1, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2  # a new file; the old one is still valid for the old weights

    built.write_bytes(b"")  # a power cut before the data reached the disk
    with torch.no_grad():
        weight.copy_(original)
    OnnxEncoder(encoder, quantize=True, threads=1, cache_dir=tmp_path)
    assert "onnx_cache_unreadable" in caplog.text
    assert built.stat().st_size > 1000
    caplog.clear()

    built.write_bytes(built.read_bytes()[:1000])  # a crash or a full disk cut it short
    with torch.no_grad():
        weight.copy_(original)
    (pooled,) = OnnxEncoder(encoder, quantize=True, threads=1, cache_dir=tmp_path)(IDS, MASK)
    assert "onnx_cache_unreadable" in caplog.text
    assert pooled.shape == (2, 16)
    assert built.stat().st_size > 1000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".build-")]


def test_files_unused_for_a_month_are_pruned_when_a_new_one_is_built(tmp_path: Path) -> None:
    month_ago = time.time() - PRUNE_AFTER - 60
    stale, recent = tmp_path / "encoder-0000000000000000.onnx", tmp_path / "encoder-1111111111111111.onnx"
    for path in (stale, recent):
        path.write_bytes(b"an older training's encoder")
    os.utime(stale, (month_ago, month_ago))
    encoder = PooledEncoder(bert(16), None)
    OnnxEncoder(encoder, quantize=True, threads=1, cache_dir=tmp_path)
    [built] = set(tmp_path.iterdir()) - {stale, recent}
    assert not stale.exists()
    assert recent.exists()
    os.utime(built, (month_ago, month_ago))  # loading a file marks it used, so it is not pruned while in use
    OnnxEncoder(encoder, quantize=True, threads=1, cache_dir=tmp_path)
    assert built.stat().st_mtime > time.time() - 60


def test_a_cache_dir_that_cannot_be_written_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(ConfigError, match=r"classifier\.cache_dir: cannot write to .*not-a-folder"):
        OnnxEncoder(PooledEncoder(bert(16), None), quantize=True, threads=1, cache_dir=blocker / "cache")


def test_a_roberta_sentiment_classifier_runs_under_onnx_like_under_torch(tmp_path: Path) -> None:
    """The shape of the models users point classifier.model at (twitter-roberta sentiment)."""
    torch.manual_seed(0)
    config = RobertaConfig(  # type: ignore[no-untyped-call]  # transformers is untyped here
        vocab_size=60,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
        num_labels=3,
    )
    encoder = PooledEncoder(RobertaForSequenceClassification(config).eval(), [0, 1, 2])  # type: ignore[no-untyped-call]
    ids = LONG_IDS + 2  # RoBERTa's padding id is 1: keep real tokens off it
    with torch.no_grad():
        expected = encoder(ids, LONG_MASK)
    got = OnnxEncoder(encoder, quantize=False, threads=1, cache_dir=tmp_path)(ids, LONG_MASK)
    assert len(got) == 2
    for ours, theirs in zip(got, expected, strict=True):
        assert torch.allclose(ours, theirs, atol=1e-4)


class Untraceable(torch.nn.Module):
    """Stands for a model the exporter cannot handle; its error runs to several lines, as torch's do."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("Exporting the operator 'aten::fancy' is not supported\n  at line 1\n  at line 2")


def test_a_model_that_cannot_be_exported_is_a_one_line_config_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        OnnxEncoder(PooledEncoder(Untraceable(), None), quantize=True, threads=1, cache_dir=tmp_path)
    message = str(caught.value)
    assert isinstance(caught.value, ConfigError)
    assert message.startswith("classifier.runtime: ")
    assert "aten::fancy" in message
    assert message.endswith("set classifier.runtime: torch")
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []  # no half-built file or scratch folder left


def test_training_scores_through_torch_when_a_model_cannot_run_under_onnx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # `hark train` has no config to switch runtimes, so it must not die where `hark run` would tell the user
    # to set classifier.runtime: torch. No real model fails the export cheaply, hence the stand-in.
    def refuse(*_: object, **__: object) -> None:
        raise ExportError("this model cannot be exported to ONNX (aten::fancy)")

    monkeypatch.setattr(onnx_encoder, "export", refuse)
    caplog.set_level(logging.WARNING, logger="classifiers.training")
    model = tiny_model(tmp_path / "model", sentiment_head=False)
    with pytest.raises(ExportError):
        SentenceEncoder(str(model), runtime="onnx", quantize=True)
    encoder = scoring_encoder(str(model), max_length=16, quantize=True)
    assert encoder.encode(["where is my order", "love it"]).shape == (2, 32)
    assert "scoring_with_torch" in caplog.text
