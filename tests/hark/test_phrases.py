"""One phrase matcher: exclusions match whole words and phrases in the listener filters and in relevance."""

from __future__ import annotations

import pytest

from classifiers.relevance import RelevanceRules
from hark.phrases import PhraseSet, find_phrase
from listeners.config import MentionFilterConfig
from listeners.filters import MentionFilter
from tests import builders

AN_AD = "Nimbus posted an ad for the Stratus"
BAD = "Nimbus support was bad today"


def test_an_exclusion_drops_whole_words_only_in_the_listener_filters() -> None:
    drop = MentionFilter.build(MentionFilterConfig(exclude_terms=("ad",)), builders.own_accounts())
    assert drop.drop_reason(builders.mention(1, AN_AD, addressed=False)) == "exclude_term"
    assert drop.drop_reason(builders.mention(2, BAD, addressed=False)) is None
    assert drop.drop_reason(builders.mention(3, "an AD, again", addressed=False)) == "exclude_term"


def test_an_exclusion_drops_whole_words_only_in_brand_relevance() -> None:
    rules = RelevanceRules.build(["nimbus"], [], ["ad"])
    assert not rules.is_relevant(AN_AD, mentions_brand_account=False)
    assert rules.is_relevant(BAD, mentions_brand_account=False)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("my nimbus cloud backup", "nimbus cloud"),  # a phrase, longest first
        ("Nimbus  Cloud", None),  # a phrase is matched as written, one space
        ("nimbus clouds", None),  # ...and as whole words
        ("#nimbus 2000 broom", "nimbus 2000"),
    ],
)
def test_phrases_match_as_whole_words_in_any_case(text: str, found: str | None) -> None:
    match = PhraseSet.of(["nimbus cloud", "nimbus 2000"]).search(text)
    assert (match.group(0).lower() if match else None) == found


def test_brand_terms_may_start_a_longer_word_exclusions_may_not() -> None:
    assert PhraseSet.of(["nimbus"], prefix=True).search("nimbusbikes rocks")
    assert not PhraseSet.of(["nimbus"]).search("nimbusbikes rocks")
    assert not PhraseSet.of(["nimbus"], prefix=True).search("cumulonimbus")
    assert not PhraseSet.of([]).search("anything")
    assert find_phrase("an ad for", "ad")
    assert not find_phrase("bad", "ad")
