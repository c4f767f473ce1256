"""Linear task heads over sentence embeddings, and the files that hold them with the encoder's adapter."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

HEADS_FILE = "heads.safetensors"
META_FILE = "heads.json"
ADAPTER_FILE = "adapter.safetensors"


@dataclass(frozen=True)
class Head:
    """Softmax regression: probabilities = softmax(x @ weight.T + bias)."""

    labels: tuple[str, ...]
    weight: torch.Tensor  # (n_labels, dim)
    bias: torch.Tensor  # (n_labels,)

    def probabilities(self, embeddings: torch.Tensor) -> torch.Tensor:
        return torch.softmax(embeddings @ self.weight.T + self.bias, dim=-1)


def fit_head(
    embeddings: torch.Tensor,
    targets: Sequence[str],
    labels: Sequence[str],
    *,
    l2: float = 1e-3,
    max_iter: int = 300,
) -> Head:
    """Fit a class-balanced softmax regression with L-BFGS; rare labels weigh as much as common ones."""
    index = {label: i for i, label in enumerate(labels)}
    y = torch.tensor([index[t] for t in targets], dtype=torch.long)
    counts = torch.bincount(y, minlength=len(labels)).float()
    class_weight = torch.where(counts > 0, counts.sum() / (len(labels) * counts.clamp(min=1)), 0.0)
    x = embeddings.float()
    weight = torch.zeros(len(labels), x.shape[1], requires_grad=True)
    bias = torch.zeros(len(labels), requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight.T + bias, y, weight=class_weight)
        loss = loss + l2 * weight.pow(2).sum()
        loss.backward()  # type: ignore[no-untyped-call]  # torch's backward is untyped
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return Head(tuple(labels), weight.detach().clone(), bias.detach().clone())


def save_heads(
    directory: Path,
    heads: Mapping[str, Head],
    meta: Mapping[str, Any],
    adapter: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """Write heads (and the encoder's adapter, if trained) as safetensors, and the metadata as JSON."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, head in heads.items():
        tensors[f"{name}.weight"] = head.weight.contiguous()
        tensors[f"{name}.bias"] = head.bias.contiguous()
    save_file(tensors, str(directory / HEADS_FILE))
    if adapter is not None:
        # fp16 halves the file; adapters are merged into fp32 weights at load time
        save_file({k: v.half().contiguous() for k, v in adapter.items()}, str(directory / ADAPTER_FILE))
    elif (directory / ADAPTER_FILE).exists():
        (directory / ADAPTER_FILE).unlink()  # a stale adapter must never pair with new heads
    full_meta = {
        **meta,
        "labels": {name: list(head.labels) for name, head in heads.items()},
        "adapter_file": ADAPTER_FILE if adapter is not None else None,
    }
    (directory / META_FILE).write_text(
        json.dumps(full_meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def load_heads(directory: Path) -> tuple[dict[str, Head], dict[str, torch.Tensor] | None, dict[str, Any]]:
    """Return heads, adapter tensors (or None) and metadata.

    Raises FileNotFoundError, KeyError or ValueError when the directory holds no usable heads.
    """
    meta: dict[str, Any] = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    tensors = load_file(str(directory / HEADS_FILE))
    heads = {}
    for name, labels in meta["labels"].items():
        weight, bias = tensors[f"{name}.weight"], tensors[f"{name}.bias"]
        if weight.shape[0] != len(labels) or bias.shape[0] != len(labels):
            raise ValueError(f"head {name!r} has {weight.shape[0]} outputs for {len(labels)} labels")
        heads[name] = Head(tuple(labels), weight.float(), bias.float())
    adapter = None
    if meta.get("adapter_file"):
        adapter = {k: v.float() for k, v in load_file(str(directory / meta["adapter_file"])).items()}
    return heads, adapter, meta
