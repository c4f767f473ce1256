"""The `onnx` runtime: the merged encoder exported once to ONNX, int8 by ONNX Runtime, cached on disk.

Why: on this project's 2-core AVX2 machines ONNX Runtime's int8 kernels run the same encoder 13-43% faster
than torch's dynamic int8 on mention-length texts, in ~100 MB less memory, at the same accuracy (README,
"Speed"). The export needs torch, so the first start with new weights takes ~10 s more; later starts load
the cached file. Files unused for PRUNE_AFTER are removed when a new one is built, so retraining every
week does not fill the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import torch
import transformers
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from classifiers.pooling import PooledEncoder
from classifiers.quantization import FLOAT_FFN_LAYERS, keeps_float
from hark.errors import ConfigError

log = logging.getLogger(__name__)

OPSET = 17
INPUTS = ("input_ids", "attention_mask")
PRUNE_AFTER = 30 * 24 * 3600  # seconds since a cached file was last loaded
SCRATCH_AFTER = 24 * 3600  # a build folder this old belongs to an export that was killed
# How the file is made; part of the cache key, so changing any of it rebuilds instead of serving an old file
RECIPE = ("per_channel", "QInt8", "MatMul+Gather", tuple(sorted(FLOAT_FFN_LAYERS)))
# What ONNX Runtime raises for a file it cannot load (all derive from Exception directly)
LOAD_ERRORS = (
    ort_state.Fail,
    ort_state.InvalidArgument,
    ort_state.InvalidGraph,
    ort_state.InvalidProtobuf,
    ort_state.NoSuchFile,
    ort_state.NotImplemented,
    ort_state.RuntimeException,
)


class ExportError(ConfigError):
    """The model cannot run under ONNX Runtime; `classifier.runtime: torch` still can."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"classifier.runtime: {reason}; set classifier.runtime: torch")


def first_line(err: BaseException) -> str:
    """Exporter and runtime errors run to many lines; a ConfigError is one."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def cache_key(encoder: PooledEncoder, *, quantize: bool) -> str:
    """Digest of everything the exported file depends on: the weights as merged, and the tools."""
    digest = hashlib.sha256()
    for name, tensor in encoder.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    setup = (
        quantize,
        encoder.sentiment_order,
        RECIPE,
        OPSET,
        torch.__version__,
        transformers.__version__,
        onnxruntime.__version__,
    )
    digest.update(repr(setup).encode())
    return digest.hexdigest()[:16]


def float_nodes(path: Path) -> list[str]:
    """The MatMul nodes keeps_float picks, by exported name (`/model/encoder/layer.0/output/dense/MatMul`)."""
    import onnx  # noqa: PLC0415  # only needed while building a new file

    graph = onnx.load(str(path), load_external_data=False).graph
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and keeps_float(node.name.strip("/").removesuffix("/MatMul").replace("/", "."))
    ]


def export(encoder: PooledEncoder, path: Path, *, quantize: bool) -> None:
    """Write the encoder as ONNX (dynamic batch and length); with `quantize`, int8 weights per output channel
    for the linear maps (except keeps_float's) and, ONNX Runtime's default, the embedding tables."""
    sample = torch.ones((2, 8), dtype=torch.long)
    outputs = ["embedding"] if encoder.sentiment_order is None else ["embedding", "sentiment"]
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {name: {0: "batch"} for name in outputs}
    fp32 = path.with_suffix(".fp32.onnx")
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated in favour of torch.export, which needs onnxscript and
        # minutes per BERT; torch is pinned, so the deprecation cannot surprise us
        warnings.simplefilter("ignore", DeprecationWarning)
        # transformers' mask code makes a constant 1.0 while traced; it is a constant. tests/test_onnx_encoder
        # checks the exported graph against torch on padded batches of other lengths than the trace's
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # type: ignore[attr-defined]  # exported at runtime
        try:
            torch.onnx.export(
                encoder.eval(),
                (sample, sample),
                str(fp32),
                input_names=list(INPUTS),
                output_names=outputs,
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        except (RuntimeError, TypeError, ValueError) as err:  # torch.onnx's own errors are RuntimeErrors
            raise ExportError(f"this model cannot be exported to ONNX ({first_line(err)})") from err
    if not quantize:
        fp32.replace(path)
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415  # 1 s of imports (onnx)

    # per-channel scales: 0.6 points of TweetEval macro-recall better than one scale per matrix, ~8% slower
    root = logging.getLogger()
    root.addFilter(_not_onnxruntime)  # it logs a line per tensor on the root logger at INFO
    try:
        quantize_dynamic(
            fp32, path, weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=float_nodes(fp32)
        )
    except (RuntimeError, TypeError, ValueError, KeyError) as err:  # an op its quantiser does not know
        raise ExportError(f"ONNX Runtime cannot quantise this model ({first_line(err)})") from err
    finally:
        root.removeFilter(_not_onnxruntime)
    fp32.unlink()


def _not_onnxruntime(record: logging.LogRecord) -> bool:
    return "onnxruntime" not in Path(record.pathname).parts


def _fresh_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    """A file we just exported that ONNX Runtime still refuses (an operator its CPU build lacks)."""
    try:
        return _session(path, threads)
    except LOAD_ERRORS as err:
        raise ExportError(f"ONNX Runtime cannot run the exported model ({first_line(err)})") from err


def _session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # no busy-waiting between runs: spinning workers would steal the cores from torch and the pipeline
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: its warnings about unused initialisers are noise
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """Runs a PooledEncoder's exported graph; called with token ids like the module itself."""

    def __init__(
        self, encoder: PooledEncoder, *, quantize: bool, threads: int, cache_dir: Path | None
    ) -> None:
        if cache_dir is None:  # a one-off (training's scoring): build, load, and leave nothing behind
            with tempfile.TemporaryDirectory(prefix="hark-onnx-") as scratch:
                path = Path(scratch) / "encoder.onnx"
                export(encoder, path, quantize=quantize)
                self._session = _fresh_session(path, threads)
            return
        path = cache_dir / f"encoder-{cache_key(encoder, quantize=quantize)}.onnx"
        self._session = self._cached(path, threads) or _fresh_session(
            self._build(encoder, path, quantize=quantize), threads
        )

    @staticmethod
    def _cached(path: Path, threads: int) -> onnxruntime.InferenceSession | None:
        if not path.exists():
            return None
        try:
            session = _session(path, threads)
        except LOAD_ERRORS as err:  # empty, truncated, foreign, or pruned by another process meanwhile
            log.warning("onnx_cache_unreadable path=%s error=%s; rebuilding it", path, first_line(err))
            return None
        with contextlib.suppress(OSError):  # a read-only cache still serves
            path.touch()  # its modification time says when it was last used, for pruning
        return session

    @staticmethod
    def _build(encoder: PooledEncoder, path: Path, *, quantize: bool) -> Path:
        """Export next to the cache entry and move it in whole, so a crash never leaves half a file."""
        scratch: Path | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=path.parent))
            built = scratch / path.name
            export(encoder, built, quantize=quantize)
            with built.open("rb") as file:  # on disk before it has its final name: never an empty entry
                os.fsync(file.fileno())
            built.replace(path)
        except OSError as err:  # not a folder, read-only, disk full
            raise ConfigError(f"classifier.cache_dir: cannot write to {path.parent}: {err}") from err
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        log.info("onnx_cache_built path=%s", path)
        _prune(path)
        return path

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feed = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        outputs: list[np.ndarray] = self._session.run(None, feed)
        return tuple(torch.from_numpy(np.ascontiguousarray(out)) for out in outputs)


def _prune(keep: Path) -> None:
    """Remove exported encoders nobody has loaded for PRUNE_AFTER (other heads, older trainings; a process
    running that long re-exports at its next start) and build folders of exports that were killed."""
    now = time.time()
    for old in keep.parent.glob("encoder-*.onnx"):
        try:
            if old != keep and old.stat().st_mtime < now - PRUNE_AFTER:
                old.unlink()
                log.info("onnx_cache_pruned path=%s", old)
        except OSError as err:  # another process pruned it first, or the folder became read-only
            log.warning("onnx_cache_prune_failed path=%s error=%s", old, err)
    for scratch in keep.parent.glob(".build-*"):
        with contextlib.suppress(OSError):
            if scratch.stat().st_mtime < now - SCRATCH_AFTER:
                shutil.rmtree(scratch)
                log.info("onnx_cache_pruned path=%s", scratch)
