"""Config errors are precise, one line long, and name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.config import load_config
from hark.errors import ConfigError
from hark.secrets import load_secrets
from tests.conftest import REPO


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def base() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    return loaded


def test_shipped_config_is_valid_and_resolves_paths_next_to_it() -> None:
    cfg = load_config(REPO / "config.yaml")
    assert cfg.customers.import_csv == REPO / "samples" / "customers.csv"
    assert all(s.path.is_file() for s in cfg.sources if s.type == "replay")


def test_a_typo_names_the_key(tmp_path: Path) -> None:
    data = base()
    data["sources"][0]["intervall_s"] = 5  # type: ignore[index]
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, data))
    message = str(caught.value)
    assert "sources.0.replay.intervall_s" in message
    assert "Extra inputs are not permitted" in message
    assert "\n" not in message


def test_a_bad_value_names_the_key(tmp_path: Path) -> None:
    data = base()
    data["classifier"]["batch_size"] = 0  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"classifier\.batch_size  Input should be greater than 0"):
        load_config(write(tmp_path, data))


def test_a_token_pasted_into_the_file_is_rejected(tmp_path: Path) -> None:
    data = base()
    data["slack_bot_token"] = "xoxb-fake"
    with pytest.raises(ConfigError, match="slack_bot_token  Extra inputs are not permitted") as caught:
        load_config(write(tmp_path, data))
    assert "xoxb" not in str(caught.value)


def test_duplicate_source_names_are_rejected(tmp_path: Path) -> None:
    data = base()
    data["sources"] = [data["sources"][0], data["sources"][0]]  # type: ignore[index]
    with pytest.raises(ConfigError, match="source names must be unique, repeated: x-sample"):
        load_config(write(tmp_path, data))


def test_auto_reply_rule_without_a_known_template_is_rejected(tmp_path: Path) -> None:
    data = base()
    data["routing"]["rules"][0] = {"name": "r", "action": "auto_reply", "template": "nope"}  # type: ignore[index]
    with pytest.raises(ConfigError, match="no template named 'nope'"):
        load_config(write(tmp_path, data))


def test_invalid_yaml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("brand:\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line \d+ is not valid YAML"):
        load_config(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.yaml")


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARK_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    secrets = load_secrets()
    assert secrets.database_url.get_secret_value() == "sqlite:///elsewhere.db"
    assert "xoxb" not in repr(secrets)
