"""Build everything `hark run` needs from config and secrets, once, and hand it around explicitly."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from rich.console import Console

from app.config import AppConfig
from app.pipeline import Routing, Sessions
from classifiers.base import Classifier
from classifiers.registry import build_classifier
from classifiers.relevance import RelevanceRules
from hark.brand import OwnAccounts
from hark.errors import ConfigError
from hark.secrets import Secrets
from listeners.base import Listener
from listeners.registry import build_listener
from platforms.registry import PLATFORMS
from responders.base import ReplyResponder
from responders.registry import build_queue_responder, build_reply_responders, build_slack_app_server
from responders.templates import ReplyTemplates
from store.crm_import import import_customers_csv
from store.db import make_engine, make_sessions, upgrade
from store.mentions import stored_platforms

if TYPE_CHECKING:
    from responders.slack_app import SlackAppServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    engine: sa.Engine
    sessions: Sessions


def open_database(secrets: Secrets, *, migrate: bool = True) -> Database:
    """Connect (ConfigError if the database does not answer) and bring the schema to head."""
    engine = make_engine(secrets.database_url.get_secret_value())
    if migrate:
        revision = upgrade(engine)
        log.info("db_ready dialect=%s revision=%s", engine.dialect.name, revision)
    return Database(engine, make_sessions(engine))


@dataclass(frozen=True)
class Runtime:
    config: AppConfig
    db: Database
    listeners: tuple[Listener, ...]
    classifier: Classifier
    routing: Routing
    repliers: Mapping[str, ReplyResponder]
    slack_app: SlackAppServer | None = None  # card menus; started by `hark run`, not by `--once`


def build(cfg: AppConfig, secrets: Secrets, console: Console | None = None) -> Runtime:
    """Everything cheap and likely to fail is checked before the model loads."""
    templates = ReplyTemplates(cfg.routing.templates)
    own = OwnAccounts.build(cfg.brand)
    listeners = tuple(build_listener(source, own) for source in cfg.sources)
    queue = build_queue_responder(cfg.responders.queue, secrets, console)
    check = getattr(queue, "check", None)
    if check is not None:
        check()  # a bad Slack token stops startup, not the first card
    repliers = build_reply_responders(cfg.responders.replies.dry_run, cfg.sources, console)
    db = open_database(secrets)
    with db.sessions() as session:
        unknown = sorted(stored_platforms(session) - set(PLATFORMS))
    if unknown:  # every stage after listening would stop at these rows: say so now, once
        raise ConfigError(
            f"the database holds mentions of {', '.join(unknown)}, which no platform module registers "
            f"(platforms/registry.py knows {', '.join(sorted(PLATFORMS))})"
        )
    if cfg.customers.import_csv is not None:
        with db.sessions.begin() as session:
            result = import_customers_csv(session, cfg.customers.import_csv)
        log.info(
            "customers_imported created=%d updated=%d unchanged=%d rejected=%d",
            result.created,
            result.updated,
            result.unchanged,
            len(result.rejected),
        )
        for line, reason in result.rejected:
            log.warning("customer_rejected file=%s line=%d reason=%s", cfg.customers.import_csv, line, reason)
    log.info("classifier_loading model=%s", cfg.classifier.model)
    classifier = build_classifier(cfg.classifier, RelevanceRules.for_brand(cfg.brand))
    log.info("classifier_ready version=%s", classifier.version)
    return Runtime(
        config=cfg,
        db=db,
        listeners=listeners,
        classifier=classifier,
        routing=Routing(cfg=cfg, templates=templates, queue=queue, own=own),
        repliers=repliers,
        slack_app=build_slack_app_server(cfg.responders.queue, secrets, db.sessions, cfg.customers),
    )
