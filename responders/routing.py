"""Routing rules: the first rule whose conditions all hold decides what happens to a mention."""

from __future__ import annotations

from dataclasses import dataclass

from responders.config import Action, RoutingConfig, RuleMatch


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteFacts:
    intent: str
    sentiment: str
    platform: str
    relevant: bool
    needs_reply: bool
    vip: bool
    priority: int


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    rule: str  # the rule's name, or "default"
    template: str | None = None
    channel: str | None = None


def matches(when: RuleMatch, facts: RouteFacts) -> bool:
    checks = (
        not when.intent or facts.intent in when.intent,
        not when.sentiment or facts.sentiment in when.sentiment,
        not when.platform or facts.platform in when.platform,
        when.relevant is None or facts.relevant == when.relevant,
        when.needs_reply is None or facts.needs_reply == when.needs_reply,
        when.vip is None or facts.vip == when.vip,
        facts.priority >= when.min_priority,
    )
    return all(checks)


def decide(routing: RoutingConfig, facts: RouteFacts) -> Decision:
    for rule in routing.rules:
        if matches(rule.when, facts):
            return Decision(rule.action, rule.name, rule.template, rule.channel)
    return Decision(routing.default_action, "default")
