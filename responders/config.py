"""Config of routing rules, reply templates and the responders."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    model_validator,
)

from hark.records import Intent, Sentiment
from platforms.registry import known_platform

Action = Literal["ignore", "queue", "auto_reply", "escalate"]
TEMPLATE_NAME_LIMIT = 100  # replies.template


class RuleMatch(BaseModel):
    """Conditions of a routing rule; every condition given must hold, an empty match holds always."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    intent: tuple[Intent, ...] = ()
    sentiment: tuple[Sentiment, ...] = ()
    platform: tuple[Annotated[str, AfterValidator(known_platform)], ...] = ()
    relevant: bool | None = None
    needs_reply: bool | None = None
    vip: bool | None = None
    min_priority: int = Field(default=0, ge=0, le=100)


class RoutingRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # stored with each routed mention, with "(blocked: <policy rule>)" when the policy held a reply back
    name: str = Field(min_length=1, max_length=70)
    when: RuleMatch = RuleMatch()
    action: Action
    template: str | None = None  # a key of routing.templates, for auto_reply (and as a suggestion)
    channel: str | None = None  # overrides the responder's channel for queue and escalate

    @model_validator(mode="after")
    def _auto_reply_needs_template(self) -> RoutingRule:
        if self.action == "auto_reply" and not self.template:
            raise ValueError("an auto_reply rule needs a template")
        return self


class RoutingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: tuple[RoutingRule, ...] = ()
    default_action: Action = "queue"
    # name -> a text, a list of variants, or variants per language ({en: ..., es: [...]}; English is the
    # fallback)
    templates: dict[str, str | tuple[str, ...] | dict[str, str | tuple[str, ...]]] = {}
    # the template a queue card suggests for an intent when its rule names none
    suggestions: dict[Intent, str] = {}

    @model_validator(mode="after")
    def _templates_exist(self) -> RoutingConfig:
        for index, rule in enumerate(self.rules):
            if rule.template and rule.template not in self.templates:
                raise ValueError(f"rules.{index}.template: no template named {rule.template!r}")
        for intent, name in self.suggestions.items():
            if name not in self.templates:
                raise ValueError(f"suggestions.{intent}: no template named {name!r}")
        for name, source in self.templates.items():
            if len(name) > TEMPLATE_NAME_LIMIT:  # stored with every reply made from it
                raise ValueError(
                    f"templates: the name {name[:20]!r}... is over {TEMPLATE_NAME_LIMIT} characters"
                )
            variants = source.values() if isinstance(source, dict) else [source]
            if not source or any(not v or (not isinstance(v, str) and not all(v)) for v in variants):
                raise ValueError(f"templates.{name}: a template needs at least one non-empty text")
        return self


SlackId = Annotated[str, Field(pattern=r"^[UWS][A-Z0-9]{2,}$")]  # a user (U…, W…) or a user group (S…)


class QueueConfig(BaseModel):
    """Where queue cards go: Slack when SLACK_BOT_TOKEN is set (or type: slack), else the console."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["auto", "slack", "console"] = "auto"
    channel: str = "#hark-queue"
    escalation_channel: str = "#hark-escalations"
    slack_base_url: str = "https://slack.com/api/"
    # The Slack app (card menus) answers over Socket Mode when SLACK_APP_TOKEN is set; otherwise, with
    # SLACK_SIGNING_SECRET, on http://host:port/slack/events (put a TLS proxy in front of it)
    slack_http_host: str = "127.0.0.1"
    slack_http_port: int = Field(default=3000, ge=0, le=65535)
    # who may send replies and pause them from Slack: user ids (U…, W…) and user group ids (S…); nobody
    # when empty. Everyone in the workspace may claim, resolve, escalate, snooze and relabel.
    senders: tuple[SlackId, ...] = ()
    pausers: tuple[SlackId, ...] = ()
    on_call_group: Annotated[str, Field(pattern=r"^S[A-Z0-9]{2,}$")] | None = None  # escalations mention it
    slack_pace_s: float = Field(
        default=1.0, ge=0, le=60
    )  # Slack takes about one message a second per channel
    digest_after_per_minute: PositiveInt = 10  # more new cards than this to one channel in a minute: a digest


class QuietHours(BaseModel):
    """No automated reply from `start` to `end` in the brand's time zone (the window may pass midnight)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: time
    end: time


SENSITIVE_TERMS = (
    "legal",
    "lawyer",
    "lawsuit",
    "sue",
    "court",
    "safety",
    "unsafe",
    "injury",
    "injured",
    "hurt",
    "accident",
    "fire",
    "burn",
    "recall",
    "press",
    "journalist",
    "reporter",
)


class RepliesConfig(BaseModel):
    """The auto-reply policy (responders/guardrails.py checks every rule) and the outbox's switches."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    dry_run: bool = True  # print replies instead of posting them
    kill_switch: bool = False  # no reply leaves the outbox at all
    allowed_intents: tuple[Intent, ...] = ("praise",)  # automated replies answer only these
    min_confidence: float = Field(default=0.7, ge=0, le=1)  # the classifier's probability of the intent
    block_negative: bool = True  # a negative post always goes to a person
    block_vip: bool = True  # and so does every VIP's
    sensitive_terms: tuple[str, ...] = SENSITIVE_TERMS  # whole words; such posts go to a person
    max_per_author_per_day: NonNegativeInt = 2
    max_per_thread: NonNegativeInt = 1  # X: at most one reply per interaction
    max_per_account_per_hour: NonNegativeInt = 30  # automated replies per platform account
    max_per_account_per_day: NonNegativeInt = 200
    quiet_hours: QuietHours | None = None
    identical_text_hours: PositiveInt = (
        24  # X refuses an account's duplicate posts: no same text again within
    )
    known_bots: tuple[str, ...] = ()


class RespondersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    queue: QueueConfig = QueueConfig()
    replies: RepliesConfig = RepliesConfig()
