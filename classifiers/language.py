"""A small offline language guess for posts whose platform did not say (Reddit never does)."""

from __future__ import annotations

import re

from hark.records import NO_LANGUAGE

# Frequent short function words per language; enough to tell them apart in a social post.
_STOPWORD_TEXT = {
    "en": "the and is are was to of for my you it this that with have not but on in i me your",
    "es": "el la los las que de y es en un una por para con mi no muy pero lo se del al",
    "de": "der die das und ist nicht ich mit ein eine zu den von es auf für mein wie aber",
    "fr": "le la les et est je pas de un une des pour avec mon ma que qui ce en du très",
    "pt": "o a os as que de e é um uma para com meu minha não muito mas do da em",
    "it": "il lo la gli le che di e è un una per con mio mia non molto ma del della",
    "nl": "de het een en is niet ik met van op voor mijn maar dat zijn wat ook",
}
_STOPWORDS = {code: frozenset(words.split()) for code, words in _STOPWORD_TEXT.items()}
_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_NOISE = re.compile(r"https?://\S+|[@#]\w+|\bu/\w+|\br/\w+")


def detect_language(text: str, reported: str | None = None) -> str:
    """Return an ISO 639-1 code, or "und" when the text gives too little to tell."""
    if reported and reported.lower() not in NO_LANGUAGE:
        return reported.lower()
    cleaned = _NOISE.sub(" ", text)
    for code, pattern in _SCRIPTS:
        if pattern.search(cleaned):
            return code
    words = [w.lower() for w in _WORD.findall(cleaned)]
    if not words:
        return "und"
    scores = {code: sum(w in stop for w in words) for code, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda code: scores[code])
    if scores[best] == 0:
        return "en" if len(words) <= 3 else "und"
    return best
