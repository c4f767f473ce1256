"""Read labelled data: the airline CSV, TweetEval text/label pairs, Bitext intents and Hark JSONL."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hark.errors import UsageError
from hark.records import INTENTS, SENTIMENTS

SHIPPED_POSTS = Path(__file__).parent / "data"


class DatasetError(UsageError):
    """A labelled file is missing, unreadable or in none of the accepted formats."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    sentiment: str | None = None
    intent: str | None = None
    needs_reply: bool | None = None


def is_held_out(key: str, percent: int = 20) -> bool:
    """A stable split: the same text lands on the same side on every machine and every run."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100 < percent


def _known(value: object, allowed: tuple[str, ...]) -> str | None:
    """A label as the readers accept it: any case, surrounding spaces ignored; None if not one of ours."""
    if not isinstance(value, str):
        return None
    label = value.strip().lower()
    return label if label in allowed else None


def read_airline(path: Path) -> list[Example]:
    out = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            sentiment = _known(row.get("airline_sentiment"), SENTIMENTS)
            text = row.get("text")
            if sentiment is None or not isinstance(text, str):
                raise DatasetError(
                    f"{path}:{reader.line_num}: need a text and an airline_sentiment of "
                    f"{', '.join(SENTIMENTS)} (got {row.get('airline_sentiment')!r})"
                )
            out.append(Example(text=text, sentiment=sentiment))
    return out


def read_tweeteval(text_path: Path) -> list[Example]:
    """`*_text.txt` beside `*_labels.txt` and `mapping.txt`; sentiment maps directly, emotion by valence."""
    labels_path = text_path.with_name(text_path.name.replace("_text.txt", "_labels.txt"))
    mapping: dict[str, str] = {}
    for line in (text_path.parent / "mapping.txt").read_text(encoding="utf-8-sig").splitlines():
        if line.strip():
            key, value = line.split("\t") if "\t" in line else line.split(maxsplit=1)
            mapping[key.strip()] = value.strip()
    valence = {"anger": "negative", "sadness": "negative", "joy": "positive", "optimism": "positive"}
    texts = text_path.read_text(encoding="utf-8-sig").splitlines()
    labels = labels_path.read_text(encoding="utf-8-sig").splitlines()
    if len(texts) != len(labels):
        raise DatasetError(f"{text_path} has {len(texts)} lines but {labels_path} has {len(labels)}")
    out = []
    for line_no, (text, label) in enumerate(zip(texts, labels, strict=True), start=1):
        name = mapping.get(label.strip())
        if name is None:
            raise DatasetError(f"{labels_path}:{line_no}: label {label.strip()!r} is not in mapping.txt")
        sentiment = name if name in SENTIMENTS else valence.get(name)
        if sentiment:
            out.append(Example(text=text.strip(), sentiment=sentiment))
    return out


# Bitext's intents are support-desk requests; only some say something our intents care about.
BITEXT_INTENTS = {
    "complaint": "complaint",
    "delete_account": "churn_risk",
    "cancel_order": "churn_risk",
    "place_order": "purchase_intent",
    "check_payment_methods": "purchase_intent",
    "delivery_options": "purchase_intent",
}


def read_bitext(path: Path) -> list[Example]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [
            Example(
                text=row["instruction"],
                intent=BITEXT_INTENTS.get(row["intent"], "support_question"),
                needs_reply=True,
            )
            for row in csv.DictReader(handle)
        ]


def read_jsonl(path: Path) -> list[Example]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise DatasetError(f"{path}:{number}: not a JSON object with a text field ({err})") from err
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(f"{path}:{number}: text must be a non-empty string")
        raw_sentiment, raw_intent = item.get("sentiment"), item.get("intent")
        needs_reply = item.get("needs_reply")
        sentiment, intent = _known(raw_sentiment, SENTIMENTS), _known(raw_intent, INTENTS)
        if raw_sentiment is not None and sentiment is None:
            raise DatasetError(f"{path}:{number}: unknown sentiment {raw_sentiment!r}")
        if raw_intent is not None and intent is None:
            raise DatasetError(f"{path}:{number}: unknown intent {raw_intent!r}")
        if needs_reply is not None and not isinstance(needs_reply, bool):
            raise DatasetError(f"{path}:{number}: needs_reply must be true or false")
        out.append(Example(text=text, sentiment=sentiment, intent=intent, needs_reply=needs_reply))
    return out


def read_labelled(path: Path) -> list[Example]:
    """Read any accepted format, told apart by name and header. Raises DatasetError."""
    try:
        if path.name.endswith("_text.txt"):
            return read_tweeteval(path)
        if path.suffix == ".jsonl":
            return read_jsonl(path)
        if path.suffix == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                header = next(csv.reader(handle), [])
            if "airline_sentiment" in header:
                return read_airline(path)
            if "instruction" in header and "intent" in header:
                return read_bitext(path)
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, ValueError) as err:
        raise DatasetError(f"cannot read {path}: {err}") from err
    raise DatasetError(
        f"{path}: not a recognised labelled file (airline CSV, Bitext CSV, TweetEval *_text.txt or JSONL)"
    )


def examples_from_corrections(corrections: list[tuple[str, dict[str, str]]]) -> list[Example]:
    """People's corrections as training examples; a field nobody corrected stays unlabelled."""
    return [
        Example(
            text=text,
            sentiment=fields.get("sentiment"),
            intent=fields.get("intent"),
            needs_reply=fields["needs_reply"] == "true" if "needs_reply" in fields else None,
        )
        for text, fields in corrections
        if {"sentiment", "intent", "needs_reply"} & set(fields)
    ]


def shipped_social_posts() -> Iterator[Path]:
    """The hand-labelled social posts that ship with Hark."""
    return iter(sorted(SHIPPED_POSTS.glob("social_posts*.jsonl")))
