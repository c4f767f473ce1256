"""Build the classifier that config names."""

from __future__ import annotations

from classifiers.base import Classifier
from classifiers.config import ClassifierConfig
from classifiers.relevance import RelevanceRules


def build_classifier(cfg: ClassifierConfig, relevance: RelevanceRules) -> Classifier:
    """Load the encoder and heads. Raises ConfigError when either cannot be loaded offline."""
    from classifiers.transformer import TransformerClassifier  # torch loads only when a classifier is built

    return TransformerClassifier.from_config(cfg, relevance)
