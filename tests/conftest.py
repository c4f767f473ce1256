"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.config import AppConfig, load_config
from store.db import Sessions, make_engine, make_sessions, upgrade
from tests.fake_platforms import FakeReddit, FakeX

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PG_ENV = "HARK_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database. PostgreSQL runs when HARK_TEST_POSTGRES_URL is set; CI requires it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hark.db'}"
        return
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        if os.environ.get("HARK_REQUIRE_POSTGRES"):
            pytest.fail(f"{PG_ENV} is not set but HARK_REQUIRE_POSTGRES is")
        pytest.skip(f"{PG_ENV} not set")
    name = f"hark_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: sa.Engine) -> Sessions:
    return make_sessions(engine)


@pytest.fixture
def app_config() -> AppConfig:
    """The shipped config.yaml, as `make run` uses it."""
    return load_config(REPO / "config.yaml")


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    """The fake X API on 127.0.0.1, for tweepy."""
    from tests.fake_platforms import FakeX  # it imports this module

    fake = FakeX().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_reddit() -> Iterator[FakeReddit]:
    """The fake Reddit API on 127.0.0.1, for praw."""
    from tests.fake_platforms import FakeReddit  # it imports this module

    fake = FakeReddit().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver's fakes listen on 127.0.0.1 (never "localhost", which tries IPv6 first)."""
    return ("127.0.0.1", 0)
