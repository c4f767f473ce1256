"""Load and validate config.yaml: each stage's section is that stage's own config model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from classifiers.config import ClassifierConfig
from hark.brand import BrandConfig
from hark.errors import ConfigError
from hark.validation import format_validation_error
from listeners.config import ListenerConfig
from platforms.registry import known_platform
from reports.config import ReportsConfig
from responders.config import RespondersConfig, RoutingConfig
from store.config import CustomersConfig, SlaConfig

DEFAULT_CONFIG = Path("config.yaml")


class SchedulerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    classify_interval_s: PositiveInt = 15
    link_interval_s: PositiveInt = 15
    route_interval_s: PositiveInt = 10
    deliver_interval_s: PositiveInt = 10


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
    reports: ReportsConfig = ReportsConfig()

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: tuple[ListenerConfig, ...]) -> tuple[ListenerConfig, ...]:
        names = [s.name for s in sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique, repeated: {', '.join(duplicates)}")
        return sources

    @model_validator(mode="after")
    def _brand_platforms_exist(self) -> AppConfig:
        for platform in self.brand.accounts:
            try:
                known_platform(platform)
            except ValueError as err:
                raise ValueError(f"brand.accounts.{platform}: {err}") from None
        return self


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
