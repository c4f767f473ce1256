"""Load and validate config.yaml, and read secrets from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from classifiers.config import ClassifierConfig
from hark.errors import ConfigError
from hark.paths import ConfigPath
from listeners.config import ListenerConfig
from responders.config import RespondersConfig, RoutingConfig

DEFAULT_CONFIG = Path("config.yaml")


class BrandConfig(BaseModel):
    """Who "we" are: our accounts are never treated as customers, and terms decide relevance."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    x_accounts: dict[str, str] = {}  # handle -> X user id of each account we own
    reddit_accounts: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()  # words or phrases that name the brand
    exclude_terms: tuple[str, ...] = ()  # phrases that mean something else ("cumulonimbus")


Segment = Literal["vip", "frequent_complainer", "promoter", "detractor"]


class SegmentsConfig(BaseModel):
    """Rules that put a customer in a segment; `vip` comes from `vip_tiers` and `vip_min_lifetime_value`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    complainer_min_complaints: PositiveInt = 3  # complaints or churn risks within complainer_days
    complainer_days: PositiveInt = 90
    sentiment_days: PositiveInt = 90  # window of net sentiment: (positive - negative) / mentions
    sentiment_min_mentions: PositiveInt = 2
    promoter_min_net: float = Field(default=0.5, ge=-1, le=1)
    detractor_max_net: float = Field(default=-0.5, ge=-1, le=1)


class CustomersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    import_csv: ConfigPath | None = None  # imported at startup, idempotently
    vip_tiers: tuple[str, ...] = ("VIP",)
    vip_min_lifetime_value: float | None = None
    segments: SegmentsConfig = SegmentsConfig()
    # added to a mention's priority for each segment its author is in (the total is capped at 100)
    priority_boost: dict[Segment, int] = {"vip": 20, "frequent_complainer": 10, "detractor": 5}
    products: tuple[str, ...] = ()  # product names a buying signal may name: a lead's product interest


class SlaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    first_response_minutes: PositiveInt = 240
    vip_first_response_minutes: PositiveInt = 30


class SchedulerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    classify_interval_s: PositiveInt = 15
    link_interval_s: PositiveInt = 15
    route_interval_s: PositiveInt = 10
    deliver_interval_s: PositiveInt = 10
    timezone: str = "UTC"


class AppConfig(BaseModel):
    """The whole of config.yaml. It has no secret fields, so a pasted token is rejected as unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    brand: BrandConfig
    sources: tuple[ListenerConfig, ...] = Field(min_length=1)
    classifier: ClassifierConfig = ClassifierConfig()
    customers: CustomersConfig = CustomersConfig()
    routing: RoutingConfig = RoutingConfig()
    responders: RespondersConfig = RespondersConfig()
    sla: SlaConfig = SlaConfig()
    scheduler: SchedulerConfig = SchedulerConfig()

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: tuple[ListenerConfig, ...]) -> tuple[ListenerConfig, ...]:
        names = [s.name for s in sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique, repeated: {', '.join(duplicates)}")
        return sources


class Secrets(BaseSettings):
    """Credentials, read only from the environment (names in DESIGN.md), never from config.yaml."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    database_url: SecretStr = Field(
        default=SecretStr("sqlite:///var/hark.db"), validation_alias="HARK_DATABASE_URL"
    )
    x_bearer_token: SecretStr | None = Field(default=None, validation_alias="X_BEARER_TOKEN")
    x_api_key: SecretStr | None = Field(default=None, validation_alias="X_API_KEY")
    x_api_secret: SecretStr | None = Field(default=None, validation_alias="X_API_SECRET")
    x_access_token: SecretStr | None = Field(default=None, validation_alias="X_ACCESS_TOKEN")
    x_access_token_secret: SecretStr | None = Field(default=None, validation_alias="X_ACCESS_TOKEN_SECRET")
    reddit_client_id: SecretStr | None = Field(default=None, validation_alias="REDDIT_CLIENT_ID")
    reddit_client_secret: SecretStr | None = Field(default=None, validation_alias="REDDIT_CLIENT_SECRET")
    reddit_username: str | None = Field(default=None, validation_alias="REDDIT_USERNAME")
    reddit_password: SecretStr | None = Field(default=None, validation_alias="REDDIT_PASSWORD")
    reddit_user_agent: str | None = Field(default=None, validation_alias="REDDIT_USER_AGENT")
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    broker_url: SecretStr | None = Field(default=None, validation_alias=AliasChoices("HARK_BROKER_URL"))


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem, `dotted.key  message`, joined so the operator sees every typo at once."""
    parts = []
    for item in err.errors(include_url=False):
        loc = ".".join(str(p) for p in item["loc"])
        where = ".".join(p for p in (prefix, loc) if p)
        parts.append(f"{where or '(top level)'}  {item['msg']}")
    return "; ".join(parts)


def config_path(explicit: Path | None = None) -> Path:
    """The config file to read: the --config option, else HARK_CONFIG, else ./config.yaml."""
    if explicit is not None:
        return explicit
    env = os.environ.get("HARK_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


def load_config(path: Path) -> AppConfig:
    """Read and validate a config file. Raises ConfigError with a one-line message."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror or err}") from err
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"config {path}{line} is not valid YAML: {getattr(err, 'problem', err)}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a YAML mapping at the top level")
    try:
        return AppConfig.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as err:
        raise ConfigError(f"config {path}: {format_validation_error(err)}") from err


def load_secrets() -> Secrets:
    try:
        return Secrets()
    except ValidationError as err:
        raise ConfigError(f"environment: {format_validation_error(err)}") from err
