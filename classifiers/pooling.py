"""The encoder as one module from token ids to a mean-pooled embedding: what both runtimes execute."""

from __future__ import annotations

import torch
from torch import nn


class PooledEncoder(nn.Module):
    """(input_ids, attention_mask) -> (embedding,) or, for a sentiment classifier whose own head Hark
    uses, (embedding, sentiment probabilities in SENTIMENTS order).

    Pooling lives inside the module so that an exported graph returns 384 numbers per text instead of
    a (batch, tokens, 384) tensor that would be copied out only to be averaged.
    """

    def __init__(self, model: nn.Module, sentiment_order: list[int] | None) -> None:
        super().__init__()
        self.model = model
        self.sentiment_order = sentiment_order

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.sentiment_order is not None:
            result = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            hidden = result.hidden_states[-1]
        else:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.sentiment_order is None:
            return (pooled,)
        return pooled, torch.softmax(result.logits, dim=-1)[:, self.sentiment_order]
