"""Routing rules, reply templates and the guardrails on automated replies."""

from __future__ import annotations

import pytest

from responders.config import RoutingConfig, RoutingRule, RuleMatch
from responders.routing import RouteFacts, decide
from tests import builders

OWN = builders.own_accounts({"NimbusCycles": "1500000000000000001"}, ("NimbusCycles_Team",))


def facts(**changes: object) -> RouteFacts:
    values: dict[str, object] = {
        "intent": "complaint",
        "sentiment": "negative",
        "platform": "x",
        "relevant": True,
        "needs_reply": True,
        "vip": False,
        "priority": 60,
    }
    values.update(changes)
    return RouteFacts(**values)  # type: ignore[arg-type]


ROUTING = RoutingConfig(
    rules=(
        RoutingRule(name="noise", when=RuleMatch(relevant=False), action="ignore"),
        RoutingRule(
            name="vip complaints", when=RuleMatch(intent=("complaint",), vip=True), action="escalate"
        ),
        RoutingRule(name="urgent", when=RuleMatch(min_priority=80), action="escalate", channel="#urgent"),
        RoutingRule(
            name="praise", when=RuleMatch(intent=("praise",)), action="auto_reply", template="thanks"
        ),
    ),
    templates={"thanks": "Thanks @{{ author }}!"},
)


@pytest.mark.parametrize(
    ("changes", "action", "rule"),
    [
        ({"relevant": False, "vip": True}, "ignore", "noise"),
        ({"vip": True}, "escalate", "vip complaints"),
        ({"priority": 85}, "escalate", "urgent"),
        ({"intent": "praise", "sentiment": "positive"}, "auto_reply", "praise"),
        ({}, "queue", "default"),
    ],
)
def test_first_matching_rule_wins(changes: dict[str, object], action: str, rule: str) -> None:
    decision = decide(ROUTING, facts(**changes))
    assert (decision.action, decision.rule) == (action, rule)


def test_rule_channel_overrides_the_default() -> None:
    assert decide(ROUTING, facts(priority=90)).channel == "#urgent"
