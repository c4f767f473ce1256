"""Linking through the pipeline: suggestions from profiles, manual links, segments and priority."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.config import AppConfig
from app.pipeline import classify_pending, link_pending
from hark.records import Mention
from store.crm_import import import_customers_csv
from store.customers import MergeError, find_customer, find_identity
from store.db import Sessions
from store.link_suggestions import decide_suggestion
from store.mentions import add_mentions
from store.merges import link_identity
from store.models import AuditLogRow, CaseRow, CustomerRow, LinkSuggestionRow, MentionRow
from store.profiles import customer_view
from tests.builders import T0, mention
from tests.fakes import KeywordClassifier

LATER = T0 + timedelta(days=1)

CRM = (
    "name,email,phone,segment,tier,lifetime_value,external_crm_id,x_handle,reddit_username\n"
    "Lucía Fernández,lucia@pedalea.example,,dealer,VIP,48230,C-1,,\n"
    "Tom Gray,tom@gray-logistics.example,,fleet,standard,900,C-2,,\n"
    "Vera Big,vera@bigcorp.example,,,VIP,10,C-3,vera_big,\n"
)


def run(sessions: Sessions, cfg: AppConfig, *mentions: Mention) -> None:
    with sessions.begin() as session:
        add_mentions(session, mentions)
    classify_pending(sessions, KeywordClassifier(), 100)
    link_pending(sessions, cfg, 100)


def with_profile(m: Mention, display_name: str = "", description: str = "", url: str = "") -> Mention:
    author = dataclasses.replace(m.author, display_name=display_name, description=description, url=url)
    return dataclasses.replace(m, author=author)


@pytest.fixture
def crm(sessions: Sessions, tmp_path: Path) -> Sessions:
    path = tmp_path / "crm.csv"
    path.write_text(CRM, encoding="utf-8")
    with sessions.begin() as session:
        import_customers_csv(session, path)
    return sessions


def open_suggestions(sessions: Sessions) -> list[tuple[str, str, str]]:
    with sessions() as session:
        rows = session.execute(
            sa.select(MentionRow.author_handle, CustomerRow.external_crm_id, LinkSuggestionRow.reason)
            .join(LinkSuggestionRow, LinkSuggestionRow.identity_id == MentionRow.identity_id)
            .join(CustomerRow, CustomerRow.id == LinkSuggestionRow.customer_id)
            .where(LinkSuggestionRow.status == "open")
            .distinct()
        ).all()
    return sorted((h, c or "", r) for h, c, r in rows)


def test_profiles_that_match_a_crm_customer_are_suggested_not_linked(
    crm: Sessions, app_config: AppConfig
) -> None:
    run(
        crm,
        app_config,
        with_profile(mention(1, author="pedalea_vlc"), display_name="Lucía Fernández | Pedalea"),
        with_profile(mention(2, author="tg"), url="https://www.gray-logistics.example/about"),
        with_profile(mention(3, author="kaito"), display_name="Kaito", description="I love gmail.com"),
        with_profile(mention(4, author="someone"), description="Commuter. Ask Tom Gray about our fleet."),
    )
    assert open_suggestions(crm) == [
        ("pedalea_vlc", "C-1", "profile name matches the customer's name"),
        ("someone", "C-2", "bio names the customer"),
        ("tg", "C-2", "profile link is on the customer's email domain"),
    ]
    with crm() as session:  # a suggestion links nothing by itself
        assert find_customer(session, "@pedalea_vlc").external_crm_id is None


def test_accepting_a_suggestion_moves_the_account_and_its_history(
    crm: Sessions, app_config: AppConfig
) -> None:
    run(
        crm,
        app_config,
        with_profile(mention(1, "my bike is broken", author="pedalea_vlc"), display_name="Lucía Fernández"),
        with_profile(mention(2, "want to buy a Halo", author="pedalea_vlc"), display_name="Lucía Fernández"),
    )
    with crm.begin() as session:
        suggestion = session.scalars(sa.select(LinkSuggestionRow)).one()
        anonymous = find_customer(session, "@pedalea_vlc").id
        decide_suggestion(session, suggestion.id, accept=True, actor="cm")
    with crm() as session:
        lucia = find_customer(session, "C-1")
        view = customer_view(session, lucia, app_config.customers, LATER)
        assert session.get(CustomerRow, anonymous) is None  # nothing left behind
        assert session.get_one(LinkSuggestionRow, suggestion.id).status == "accepted"
        actions = session.scalars(sa.select(AuditLogRow.action).order_by(AuditLogRow.id)).all()
    assert find_identity_handle(view) == ["pedalea_vlc"]
    assert len(view["mentions"]) == 2
    assert len(view["cases"]) == 2
    assert len(view["leads"]) == 1
    assert actions[-2:] == ["identity_linked", "customers_merged"]


def find_identity_handle(view: dict[str, object]) -> list[str]:
    return [i["handle"] for i in view["identities"]]  # type: ignore[attr-defined]  # a JSON document


def test_dismissed_suggestions_are_not_made_again(crm: Sessions, app_config: AppConfig) -> None:
    run(crm, app_config, with_profile(mention(1, author="lf"), display_name="Lucia Fernandez"))
    with crm.begin() as session:
        suggestion = session.scalars(sa.select(LinkSuggestionRow)).one()
        decide_suggestion(session, suggestion.id, accept=False, actor="cm")
        with pytest.raises(MergeError, match="already dismissed"):
            decide_suggestion(session, suggestion.id, accept=True, actor="cm")
    run(crm, app_config, with_profile(mention(2, author="lf"), display_name="Lucia Fernandez"))
    assert open_suggestions(crm) == []


def test_link_by_hand_moves_a_reddit_account_to_a_crm_customer(crm: Sessions, app_config: AppConfig) -> None:
    run(crm, app_config, mention(1, "late delivery", platform="reddit", author="vb_rides"))
    with crm.begin() as session:
        identity = find_identity(session, "u/vb_rides")
        link_identity(session, identity.id, find_customer(session, "@vera_big").id, actor="cm")
    with crm() as session:
        vera = find_customer(session, "u/vb_rides")
        assert vera.external_crm_id == "C-3"
        case = session.scalars(sa.select(CaseRow)).one()
        assert case.customer_id == vera.id


def test_a_vips_complaint_outranks_a_strangers_and_a_strangers_praise(
    crm: Sessions, app_config: AppConfig
) -> None:
    run(
        crm,
        app_config,
        mention(1, "my Stratus arrived broken", author="vera_big", followers=10),
        mention(2, "my Stratus arrived broken", author="stranger", followers=10),
        mention(3, "love it, how do i pair the app?", author="fan", followers=10),
    )
    with crm() as session:
        priority = {
            handle: p
            for handle, p in session.execute(
                sa.select(MentionRow.author_handle, CaseRow.priority).join(
                    CaseRow, CaseRow.id == MentionRow.case_id
                )
            )
        }
    assert priority["vera_big"] > priority["stranger"] > priority["fan"]
    assert priority["vera_big"] - priority["stranger"] == app_config.customers.priority_boost["vip"]


def test_segments_follow_the_rules_in_config(crm: Sessions, app_config: AppConfig) -> None:
    complaints = [mention(n, f"late again #{n}", author="grumpy") for n in range(1, 4)]
    praise = [mention(n, f"love it #{n}", author="happy") for n in range(4, 6)]
    run(crm, app_config, *complaints, *praise)
    with crm() as session:
        grumpy = customer_view(session, find_customer(session, "@grumpy"), app_config.customers, LATER)
        happy = customer_view(session, find_customer(session, "@happy"), app_config.customers, LATER)
        much_later = customer_view(
            session, find_customer(session, "@grumpy"), app_config.customers, T0.replace(year=2027)
        )
        vera = customer_view(session, find_customer(session, "C-3"), app_config.customers, LATER)
        third = session.scalars(
            sa.select(CaseRow.priority)
            .join(MentionRow, MentionRow.case_id == CaseRow.id)
            .where(MentionRow.external_id == complaints[2].external_id)
        ).one()
        first = session.scalars(
            sa.select(CaseRow.priority)
            .join(MentionRow, MentionRow.case_id == CaseRow.id)
            .where(MentionRow.external_id == complaints[0].external_id)
        ).one()
    assert grumpy["customer"]["segments"] == ["frequent_complainer", "detractor"]
    assert grumpy["customer"]["net_sentiment"] == -1.0
    assert happy["customer"]["segments"] == ["promoter"]
    assert much_later["customer"]["segments"] == []  # outside the 90-day window
    assert vera["customer"]["segments"] == ["vip"]
    assert third > first  # by the third complaint the author is a frequent complainer and a detractor
    assert [w["negative"] for w in grumpy["sentiment_trend"]] == [3]


def test_a_lookup_by_unknown_reference_says_what_it_accepts(crm: Sessions) -> None:
    with crm() as session, pytest.raises(LookupError, match="no customer 'nobody'"):
        find_customer(session, "nobody")
    with crm() as session, pytest.raises(LookupError, match="no reddit account"):
        find_identity(session, "u/nobody")
    with crm() as session:
        assert find_customer(session, "crm:C-2").id == find_customer(session, "C-2").id


def test_an_author_without_profile_data_gets_no_suggestion(crm: Sessions, app_config: AppConfig) -> None:
    run(crm, app_config, mention(1, author="plain"))
    assert open_suggestions(crm) == []


def test_the_sla_clock_runs_from_when_the_customer_posted(crm: Sessions, app_config: AppConfig) -> None:
    later_in_thread = dataclasses.replace(
        mention(9, "still broken, anyone there?", author="stranger", followers=10, conversation="1002"),
        created_at=T0 + timedelta(hours=2),
    )
    from_the_future = dataclasses.replace(
        mention(4, "my Stratus arrived broken", author="skewed", followers=10),
        created_at=datetime.now(UTC) + timedelta(days=3),  # a platform clock far ahead of ours
    )
    run(
        crm,
        app_config,
        mention(1, "my Stratus arrived broken", author="vera_big", followers=10),
        mention(2, "my Stratus arrived broken", author="stranger", followers=10),
        later_in_thread,
        from_the_future,
    )
    sla = app_config.sla
    with crm() as session:
        cases = {
            handle: (case.opened_at, case.sla_due_at)
            for handle, case in session.execute(
                sa.select(MentionRow.author_handle, CaseRow)
                .join(CaseRow, CaseRow.id == MentionRow.case_id)
                .order_by(MentionRow.created_at)
            )
        }
    assert cases["vera_big"] == (
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=1 + sla.vip_first_response_minutes),
    )
    # the follow-up shares the first post's case, and its own later clock does not push the deadline out
    assert cases["stranger"] == (
        T0 + timedelta(minutes=2),
        T0 + timedelta(minutes=2 + sla.first_response_minutes),
    )
    opened, due = cases["skewed"]
    assert opened < datetime.now(UTC)
    assert due is not None
    assert due - opened == timedelta(minutes=sla.first_response_minutes)
