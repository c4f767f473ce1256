"""The classifier's parts that need no trained weights: metrics, readers, language, relevance, adapters."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel

from classifiers.config import IntentRule
from classifiers.datasets import (
    DatasetError,
    Example,
    is_held_out,
    read_airline,
    read_labelled,
    read_tweeteval,
)
from classifiers.language import detect_language
from classifiers.lora import adapter_tensors, inject, keep_layers, merge
from classifiers.metrics import binary_f1, score
from classifiers.quantization import quantize_int8
from classifiers.relevance import RelevanceRules
from classifiers.scoring import rule_intent
from classifiers.training import REPEATS, gather, merge_examples
from tests.builders import mention
from tests.conftest import SHARED

DATA = SHARED / "data"


def test_macro_scores_and_confusion() -> None:
    result = score(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b", "c"])
    assert result.accuracy == 0.75
    assert result.confusion == ((1, 1, 0), (0, 2, 0), (0, 0, 0))
    # F1(a) = 2/3, F1(b) = 0.8; c has no gold examples and is left out of the macro average
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert result.macro_recall == pytest.approx(0.75)
    assert binary_f1([True, True, False], [True, False, True]) == pytest.approx(0.5)


def test_held_out_split_is_stable_and_near_twenty_percent() -> None:
    keys = [f"text {i}" for i in range(5000)]
    share = sum(is_held_out(k) for k in keys) / len(keys)
    assert 0.18 < share < 0.22
    assert [is_held_out(k) for k in keys[:50]] == [is_held_out(k) for k in keys[:50]]


def test_readers_accept_every_documented_format(tmp_path: Path) -> None:
    airline = read_labelled(DATA / "airline" / "Tweets.csv")
    assert len(airline) == 14640
    assert {e.sentiment for e in airline} == {"negative", "neutral", "positive"}
    tweeteval = read_labelled(DATA / "tweeteval_sentiment" / "val_text.txt")
    assert len(tweeteval) == 2000
    assert tweeteval[0].text == tweeteval[0].text.strip()
    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_text(
        json.dumps({"text": "where is my order", "intent": "support_question", "needs_reply": True}) + "\n"
    )
    (example,) = read_labelled(jsonl)
    assert (example.intent, example.needs_reply, example.sentiment) == ("support_question", True, None)


def test_bad_labelled_files_say_which_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "intent": "praise"}\n{"text": "x", "intent": "rant"}\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: unknown intent 'rant'"):
        read_labelled(bad)
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(DatasetError, match="not a recognised labelled file"):
        read_labelled(other)


def test_labels_in_any_case_and_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    jsonl = tmp_path / "excel.jsonl"
    jsonl.write_text(
        '{"text": "meh", "sentiment": " Negative", "intent": "COMPLAINT"}\n', encoding="utf-8-sig"
    )
    (example,) = read_labelled(jsonl)
    assert (example.sentiment, example.intent) == ("negative", "complaint")
    airline = tmp_path / "Tweets.csv"
    airline.write_text("tweet_id,airline_sentiment,text\n1,Positive,great crew\n", encoding="utf-8-sig")
    assert read_labelled(airline) == [Example(text="great crew", sentiment="positive")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "null.jsonl",
            '{"text": null, "sentiment": "negative"}\n',
            r"null.jsonl:1: text must be a non-empty",
        ),
        (
            "Tweets.csv",
            "tweet_id,airline_sentiment,text\n1,negative,late again\n2,furious,lost my bag\n",
            r"Tweets.csv:3: need a text and an airline_sentiment .* \(got 'furious'\)",
        ),
        ("Tweets.csv", "tweet_id,airline_sentiment,text\n1,negative\n", r"Tweets.csv:2: need a text"),
    ],
)
def test_a_row_the_readers_cannot_use_is_an_error_not_a_silent_drop(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        read_labelled(path)


def test_a_tweeteval_label_missing_from_the_mapping_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "mapping.txt").write_text("0\tnegative\n1\tneutral\n2\tpositive\n")
    (tmp_path / "test_text.txt").write_text("good \nbad \n")
    (tmp_path / "test_labels.txt").write_text("2\n7\n")
    with pytest.raises(DatasetError, match=r"test_labels.txt:2: label '7' is not in mapping.txt"):
        read_labelled(tmp_path / "test_text.txt")


@pytest.mark.parametrize(
    ("text", "reported", "expected"),
    [
        ("my battery died and support is not answering", None, "en"),
        ("mi bicicleta no funciona y nadie me responde", None, "es"),
        ("Das Rad ist nicht angekommen und ich warte seit zwei Wochen", None, "de"),
        ("je suis très déçu, le vélo est en panne", None, "fr"),
        ("新しい自転車が届きました", None, "ja"),
        ("whatever", "pt", "pt"),
        ("🚲🚲🚲", "und", "und"),
    ],
)
def test_language_guess(text: str, reported: str | None, expected: str) -> None:
    assert detect_language(text, reported) == expected


def test_relevance_rejects_homonyms_unless_we_were_addressed() -> None:
    rules = RelevanceRules.build(["nimbus"], ["NimbusCycles"], ["cumulonimbus", "nimbus 2000"])
    assert rules.is_relevant("my nimbus stratus is great", mentions_brand_account=False)
    assert not rules.is_relevant("huge cumulonimbus over the city", mentions_brand_account=False)
    assert not rules.is_relevant("I want a Nimbus 2000 broom", mentions_brand_account=False)
    assert rules.is_relevant("cumulonimbus ahead, riding anyway @NimbusCycles", mentions_brand_account=False)
    assert not rules.is_relevant("totally unrelated post", mentions_brand_account=False)


def bert(hidden: int, layers: int = 2) -> BertModel:
    """A random small BERT: no weights to download, same module layout as MiniLM."""
    torch.manual_seed(0)
    config = BertConfig(  # type: ignore[no-untyped-call]  # transformers is untyped here
        vocab_size=50,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
    )
    model: BertModel = BertModel(config).eval()  # type: ignore[no-untyped-call]
    return model


def tiny_bert() -> BertModel:
    return bert(16)


def test_merged_adapters_reproduce_the_wrapped_model() -> None:
    wrapped_model = tiny_bert()
    adapters = inject(wrapped_model, rank=4, alpha=8, dropout=0.0)
    for adapter in adapters.values():  # pretend training moved B away from zero
        torch.nn.init.normal_(adapter.lora_b, std=0.1)
    ids = torch.tensor([[1, 5, 7, 9, 2]])
    with torch.no_grad():
        expected = wrapped_model(input_ids=ids).last_hidden_state
    plain = tiny_bert()
    with torch.no_grad():
        before = plain(input_ids=ids).last_hidden_state
    assert merge(plain, adapter_tensors(adapters), scale=2.0) == 2 * 5
    with torch.no_grad():
        after = plain(input_ids=ids).last_hidden_state
    assert not torch.allclose(before, expected, atol=1e-4)
    assert torch.allclose(after, expected, atol=1e-5)


def test_only_adapters_train() -> None:
    model = tiny_bert()
    inject(model, rank=2, alpha=4, dropout=0.0)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable
    assert all(name.endswith(("lora_a", "lora_b")) for name in trainable)


def test_adapter_for_another_shape_is_refused() -> None:
    adapters = inject(tiny_bert(), rank=2, alpha=4, dropout=0.0)
    other = bert(8)
    with pytest.raises(ValueError, match="does not fit"):
        merge(other, adapter_tensors(adapters), scale=1.0)


def test_keeping_fewer_layers_drops_the_top_ones() -> None:
    model = tiny_bert()
    first = model.encoder.layer[0]
    keep_layers(model, 1)
    assert list(model.encoder.layer) == [first]
    assert model.config.num_hidden_layers == 1
    with pytest.raises(ValueError, match="cannot keep 3"):
        keep_layers(model, 3)


def test_int8_leaves_the_first_feed_forward_down_projections_in_float() -> None:
    model = quantize_int8(bert(16, layers=3))
    int8 = {
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.ao.nn.quantized.dynamic.Linear)
    }
    assert "encoder.layer.0.attention.self.query" in int8
    assert "encoder.layer.1.attention.output.dense" in int8
    assert "encoder.layer.1.intermediate.dense" in int8
    assert "encoder.layer.2.output.dense" in int8
    assert not {"encoder.layer.0.output.dense", "encoder.layer.1.output.dense"} & int8
    with torch.no_grad():
        assert model(input_ids=torch.tensor([[1, 5, 7, 2]])).last_hidden_state.shape == (1, 4, 16)


def test_the_training_mix_repeats_each_source_as_the_model_card_says() -> None:
    data = gather(DATA)
    seen = Counter(e.text for e in merge_examples(data))
    airline = [e.text for e in read_airline(DATA / "airline" / "Tweets.csv") if not is_held_out(e.text)]
    general = [e.text for e in read_tweeteval(DATA / "tweeteval_sentiment" / "val_text.txt")]
    posts = [e.text for e in data.intent if e.sentiment is not None]  # hand-labelled social posts
    bitext = [e.text for e in data.intent if e.sentiment is None]
    assert {seen[t] for t in airline} == {1}
    assert {seen[t] for t in general} == {REPEATS}
    assert {seen[t] for t in posts} == {REPEATS}
    assert {seen[t] for t in bitext} == {1}
    held_out = {e.text for split in data.held_out.values() for e in split}
    assert not held_out & set(seen)


def test_config_rules_match_whole_words_and_authors_come_first() -> None:
    rules = (
        IntentRule(intent="spam", keywords=("ad", "free crypto")),
        IntentRule(intent="complaint", keywords=("refund",)),
        IntentRule(intent="spam", authors=("@promo_bot",)),
    )
    assert rule_intent(mention(1, "this is a bad address"), rules) is None  # not "ad"
    assert rule_intent(mention(2, "FREE Crypto!!! click"), rules) == "spam"
    assert rule_intent(mention(3, "I want a refund"), rules) == "complaint"
    assert rule_intent(mention(4, "refund scam? get a refund here", author="Promo_Bot"), rules) == "spam"


def test_a_team_correction_wins_over_a_dataset_label_for_the_same_text() -> None:
    airline = next(e for e in read_airline(DATA / "airline" / "Tweets.csv") if not is_held_out(e.text))
    other = next(s for s in ("negative", "neutral", "positive") if s != airline.sentiment)
    corrected = Example(text=airline.text, sentiment=other, intent="complaint")
    merged = [e for e in merge_examples(gather(DATA, [corrected])) if e.text == airline.text]
    assert merged
    assert {(e.sentiment, e.intent) for e in merged} == {(other, "complaint")}
