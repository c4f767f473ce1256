"""Low-rank adapters for BERT-family encoders: train a few hundred thousand numbers, ship a few MB."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

# The linear maps of every BertLayer (and RobertaLayer) that adapters wrap
TARGETS = (
    "attention.self.query",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


class LoRALinear(nn.Module):
    """y = base(x) + scale * B(A(dropout(x))); the base weights stay frozen."""

    def __init__(self, base: nn.Linear, *, rank: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(
            torch.zeros(base.out_features, rank)
        )  # zero: training starts at the base model
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update: torch.Tensor = self.dropout(x) @ self.lora_a.T @ self.lora_b.T
        out: torch.Tensor = self.base(x)
        return out + update * self.scale


def _layers(model: nn.Module) -> Iterable[tuple[int, nn.Module]]:
    encoder = getattr(model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if layers is None:
        raise ValueError("adapters need a BERT-family encoder (model.encoder.layer)")
    return enumerate(layers)


def keep_layers(model: nn.Module, count: int) -> None:
    """Drop every encoder layer above the first `count`: a shallower encoder is proportionally faster."""
    layers = [layer for _, layer in _layers(model)]
    if not 1 <= count <= len(layers):
        raise ValueError(f"the encoder has {len(layers)} layers; cannot keep {count}")
    model.encoder.layer = nn.ModuleList(layers[:count])  # type: ignore[union-attr]  # checked by _layers
    model.config.num_hidden_layers = count  # type: ignore[union-attr]  # BERT-family config


def _parent(module: nn.Module, path: str) -> tuple[nn.Module, str]:
    *parents, leaf = path.split(".")
    for name in parents:
        module = getattr(module, name)
    return module, leaf


def inject(model: nn.Module, *, rank: int, alpha: float, dropout: float) -> dict[str, LoRALinear]:
    """Wrap the target linears of every layer; only the adapters are left trainable."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    wrapped = {}
    for index, layer in _layers(model):
        for path in TARGETS:
            parent, leaf = _parent(layer, path)
            base = getattr(parent, leaf)
            adapter = LoRALinear(base, rank=rank, alpha=alpha, dropout=dropout)
            setattr(parent, leaf, adapter)
            wrapped[f"encoder.layer.{index}.{path}"] = adapter
    return wrapped


def adapter_tensors(wrapped: dict[str, LoRALinear]) -> dict[str, torch.Tensor]:
    out = {}
    for name, adapter in wrapped.items():
        out[f"{name}.lora_a"] = adapter.lora_a.detach().clone().contiguous()
        out[f"{name}.lora_b"] = adapter.lora_b.detach().clone().contiguous()
    return out


def merge(model: nn.Module, tensors: dict[str, torch.Tensor], *, scale: float) -> int:
    """Fold adapters into the base weights (W += scale * B @ A), so inference costs nothing extra."""
    merged = 0
    with torch.no_grad():
        for key, lora_a in tensors.items():
            if not key.endswith(".lora_a"):
                continue
            name = key.removesuffix(".lora_a")
            lora_b = tensors[f"{name}.lora_b"]
            parent, leaf = _parent(model, name)
            linear = getattr(parent, leaf)
            if not isinstance(linear, nn.Linear) or linear.weight.shape != (lora_b.shape[0], lora_a.shape[1]):
                raise ValueError(f"adapter {name} does not fit this model")
            linear.weight += scale * (lora_b.float() @ lora_a.float())
            merged += 1
    return merged
