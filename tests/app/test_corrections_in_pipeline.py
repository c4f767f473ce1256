"""A person's correction made before routing decides the route, over the model's label."""

from __future__ import annotations

import sqlalchemy as sa

from app.config import AppConfig
from app.pipeline import Routing, classify_pending, link_pending, poll_once, route_pending
from responders.templates import ReplyTemplates
from store.db import Sessions
from store.labels import record_correction
from store.models import MentionRow
from tests import builders
from tests.builders import mention
from tests.fakes import KeywordClassifier, ListListener, RecordingQueue


def test_relabelled_spam_is_ignored_even_though_the_model_called_it_a_complaint(
    app_config: AppConfig, sessions: Sessions
) -> None:
    own = builders.own_accounts()
    poll_once(ListListener("src", [mention(1, "@NimbusCycles my order is late")]), sessions, own)
    classify_pending(sessions, KeywordClassifier(), 10)  # the fake calls "late" a complaint
    with sessions.begin() as session:
        mention_id = session.scalars(sa.select(MentionRow.id)).one()
        record_correction(session, mention_id, "intent", "spam", "ana")
    link_pending(sessions, app_config, 10)
    queue = RecordingQueue()
    routing = Routing(
        cfg=app_config, templates=ReplyTemplates(app_config.routing.templates), queue=queue, own=own
    )
    route_pending(sessions, routing, 10)
    with sessions() as session:
        row = session.get_one(MentionRow, mention_id)
        assert (row.route_action, row.route_rule, row.customer_id) == ("ignore", "drop spam", None)
    assert queue.cards == []
