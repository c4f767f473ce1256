"""Turn head outputs and rules into needs-reply and a base priority."""

from __future__ import annotations

import math
from collections.abc import Sequence

from classifiers.config import IntentRule
from hark.handles import handle_key
from hark.phrases import find_phrase
from hark.records import Intent, Mention, Sentiment

# How urgent each intent is for a brand team, before sentiment and reach
INTENT_PRIORITY: dict[str, int] = {
    "churn_risk": 75,
    "complaint": 65,
    "purchase_intent": 60,
    "support_question": 55,
    "feature_request": 35,
    "praise": 20,
    "other": 10,
    "spam": 0,
}
REPLY_INTENTS = frozenset({"churn_risk", "complaint", "purchase_intent", "support_question"})


def rule_intent(mention: Mention, rules: Sequence[IntentRule]) -> Intent | None:
    """Config rules win over the model: an author rule first (who posted is surer evidence than a word),
    then the first rule with a keyword in the text."""
    handle = handle_key(mention.author.handle)
    for rule in rules:
        if handle in {handle_key(a) for a in rule.authors}:
            return rule.intent
    for rule in rules:
        if any(find_phrase(mention.text, keyword) for keyword in rule.keywords):
            return rule.intent
    return None


def base_priority(
    *, intent: str, sentiment: Sentiment, sentiment_score: float, followers: int | None, relevant: bool
) -> int:
    """0..100: intent first, then strong negativity, then the author's reach."""
    if not relevant or intent == "spam":
        return 0
    score = INTENT_PRIORITY[intent]
    if sentiment == "negative":
        score += round(10 * sentiment_score)
    if followers:
        score += min(15, round(3 * math.log10(max(followers, 1))))
    return max(0, min(100, score))
