"""Secrets, read only from the environment (names in DESIGN.md), never from config.yaml.

Each platform reads its own credentials with `read_secrets` and a settings class of its own module;
this module holds the ones that are not a platform's.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hark.errors import ConfigError
from hark.validation import format_validation_error

S = TypeVar("S", bound=BaseSettings)


class Secrets(BaseSettings):
    """The database URL, the Slack tokens and the broker URL."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    database_url: SecretStr = Field(
        default=SecretStr("sqlite:///var/hark.db"), validation_alias="HARK_DATABASE_URL"
    )
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    broker_url: SecretStr | None = Field(default=None, validation_alias="HARK_BROKER_URL")


def read_secrets(settings: type[S]) -> S:
    """Read one settings class from the environment; ConfigError naming the variable if one is unusable."""
    try:
        return settings()
    except ValidationError as err:
        raise ConfigError(f"environment: {format_validation_error(err)}") from err


def load_secrets() -> Secrets:
    return read_secrets(Secrets)


def reveal(value: SecretStr | str | None) -> str | None:
    """The plain text of a secret, or None when it is unset or empty."""
    if isinstance(value, SecretStr):
        return value.get_secret_value() or None
    return value or None
