"""Multi-task fine-tuning: low-rank adapters in the encoder plus sentiment, intent and needs-reply heads."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer

from classifiers.datasets import Example
from classifiers.heads import Head
from classifiers.lora import adapter_tensors, inject, keep_layers
from hark.records import INTENTS, SENTIMENTS

log = logging.getLogger(__name__)

TASKS: dict[str, tuple[str, ...]] = {
    "sentiment": SENTIMENTS,
    "intent": INTENTS,
    "needs_reply": ("false", "true"),
}
IGNORE = -100


@dataclass(frozen=True)
class FinetuneSettings:
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 6e-4
    rank: int = 16
    alpha: float = 32.0
    dropout: float = 0.1
    max_length: int = 64
    seed: int = 13
    layers: int | None = None  # keep only the first N encoder layers (faster inference); None keeps all

    @property
    def scale(self) -> float:
        return self.alpha / self.rank


@dataclass(frozen=True)
class FinetuneResult:
    heads: dict[str, Head]
    adapter: dict[str, torch.Tensor]
    adapter_scale: float
    steps: int


def _label(example: Example, task: str) -> str | None:
    value = getattr(example, task)
    if value is None:
        return None
    return str(value).lower() if task == "needs_reply" else str(value)


def _class_weights(examples: Sequence[Example], task: str) -> torch.Tensor:
    """Inverse square-root frequency: rare classes count more without drowning the common ones."""
    counts = Counter(label for e in examples if (label := _label(e, task)) is not None)
    labels = TASKS[task]
    raw = torch.tensor([1.0 / max(counts[label], 1) ** 0.5 for label in labels])
    return raw * len(labels) / raw.sum()


def finetune(
    model_path: str,
    examples: Sequence[Example],
    settings: FinetuneSettings,
    progress: Callable[[int, int], None] | None = None,
) -> FinetuneResult:
    """Train adapters and heads jointly; each example teaches the tasks it has labels for."""
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)  # noqa: S311  # shuffling, not secrets
    tokenizer = AutoTokenizer.from_pretrained(model_path)  # type: ignore[no-untyped-call]  # untyped SDK
    model = AutoModel.from_pretrained(model_path)
    if settings.layers is not None:
        keep_layers(model, settings.layers)
    wrapped = inject(model, rank=settings.rank, alpha=settings.alpha, dropout=settings.dropout)
    hidden = int(model.config.hidden_size)
    heads = nn.ModuleDict({task: nn.Linear(hidden, len(labels)) for task, labels in TASKS.items()})
    weights = {task: _class_weights(examples, task) for task in TASKS}
    index = {task: {label: i for i, label in enumerate(labels)} for task, labels in TASKS.items()}
    trainable = [p for p in model.parameters() if p.requires_grad] + list(heads.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.01)
    batches_per_epoch = (len(examples) + settings.batch_size - 1) // settings.batch_size
    total = batches_per_epoch * settings.epochs
    warmup = max(1, total // 16)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    model.train()
    heads.train()
    step = 0
    order = list(range(len(examples)))
    for epoch in range(settings.epochs):
        rng.shuffle(order)
        running = 0.0
        for start in range(0, len(order), settings.batch_size):
            batch = [examples[i] for i in order[start : start + settings.batch_size]]
            encoded = tokenizer(
                [e.text for e in batch],
                padding=True,
                truncation=True,
                max_length=settings.max_length,
                return_tensors="pt",
            )
            hidden_states = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden_states.dtype)
            pooled = (hidden_states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            loss = torch.zeros(())
            for task in TASKS:
                targets = torch.tensor(
                    [index[task][label] if (label := _label(e, task)) is not None else IGNORE for e in batch]
                )
                if bool((targets != IGNORE).any()):
                    loss = loss + nn.functional.cross_entropy(
                        heads[task](pooled), targets, weight=weights[task], ignore_index=IGNORE
                    )
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch's backward is untyped
            nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            running += float(loss.detach())
            if progress is not None:
                progress(step, total)
        log.info("finetune_epoch epoch=%d mean_loss=%.4f", epoch + 1, running / batches_per_epoch)
    trained = {}
    for task, labels in TASKS.items():
        layer = heads[task]
        assert isinstance(layer, nn.Linear)  # noqa: S101  # built as Linear above; narrows the type
        trained[task] = Head(labels, layer.weight.detach().clone(), layer.bias.detach().clone())
    return FinetuneResult(trained, adapter_tensors(wrapped), settings.scale, step)
