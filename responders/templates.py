"""Reply templates rendered in Jinja's sandbox; values from posts are data, never template source.

A template is one text, a list of variants, or variants per language (`en`, `es`, ...). The variant is
picked by a stable hash of the mention, so a retry renders the same words and two authors rarely get
identical text (X refuses an account's duplicate posts). A rendered reply is checked with the platform's own
length rule: one that does not fit is refused with the reason, never cut.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from hark.errors import ConfigError
from platforms.base import PlatformSpec

# customer_name, first_name and author can come from the poster's own profile: see clean_value
TEMPLATE_VARIABLES = (
    "author",
    "handle",  # the author as the platform writes a mention of them: @ana on X, u/ana on Reddit
    "customer_name",
    "first_name",
    "tier",
    "product",
    "case_id",
    "agent",
    "brand",
    "platform",
    "intent",
)
FALLBACK_LANGUAGE = "en"
TemplateSource = str | Sequence[str] | Mapping[str, str | Sequence[str]]
# @ and its full-width twin both mention an account on X; line breaks and control/format characters
# (bidi overrides among them) would let a display name reshape a public reply
_MENTION_SIGNS = re.compile(r"[@\uff20]+")


def clean_value(value: str) -> str:
    """A value the poster controls, made safe to publish: one line, no control, format or bidi
    characters, and no @ that would mention a third account."""
    kept = []
    for char in value:
        category = unicodedata.category(char)
        if char in "\r\n\u2028\u2029\t" or category == "Zs":
            kept.append(" ")
        elif category[0] == "C":  # Cc control, Cf format (bidi embeddings and overrides), Co, Cn
            continue
        else:
            kept.append(char)
    return " ".join(_MENTION_SIGNS.sub("", "".join(kept)).split())


@dataclass(frozen=True, slots=True)
class Rendered:
    """A reply's text, or why there is none."""

    text: str | None
    refused: str | None = None


class ReplyTemplates:
    """Compiled templates; each variant is test-rendered at startup: a typo stops the process, not a reply."""

    def __init__(self, sources: Mapping[str, TemplateSource]) -> None:
        self._env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        sample = dict.fromkeys(TEMPLATE_VARIABLES, "x")
        self._templates: dict[str, dict[str, list[Template]]] = {}
        for name, source in sources.items():
            by_language: dict[str, list[Template]] = {}
            for language, variants in _by_language(source).items():
                compiled = []
                where = f"routing.templates.{name}" + (f".{language}" if isinstance(source, Mapping) else "")
                for index, text in enumerate(variants):
                    try:
                        template = self._env.from_string(text)
                        template.render(sample)
                    except TemplateError as err:
                        raise ConfigError(
                            f"{where}[{index}]: {err} (variables: {', '.join(TEMPLATE_VARIABLES)})"
                        ) from err
                    compiled.append(template)
                by_language[language] = compiled
            self._templates[name] = by_language

    def __contains__(self, name: object) -> bool:
        return name in self._templates

    def languages(self, name: str) -> tuple[str, ...]:
        return tuple(self._templates[name])

    def render(
        self, name: str, *, platform: PlatformSpec, language: str | None, key: str, values: Mapping[str, str]
    ) -> Rendered:
        """The template in the post's language (else English, else its first), the variant `key` picks,
        filled in and checked against the platform's length rule."""
        variants = self._templates[name]
        chosen = _language_for(language, variants)
        options = variants[chosen]
        pick = int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % len(options)
        try:
            text = options[pick].render(dict(values)).strip()
        except TemplateError as err:  # a variable the template needs and this mention lacks
            return Rendered(None, f"template {name} cannot render: {err}")
        if not text:
            return Rendered(None, f"template {name} rendered an empty reply")
        length = platform.reply_length(text)
        if length > platform.reply_limit:
            return Rendered(None, f"the reply is {length} of {platform.title}'s {platform.reply_limit} long")
        return Rendered(text)


def _by_language(source: TemplateSource) -> dict[str, list[str]]:
    if isinstance(source, str):
        return {FALLBACK_LANGUAGE: [source]}
    if isinstance(source, Mapping):
        return {lang: [v] if isinstance(v, str) else list(v) for lang, v in source.items()}
    return {FALLBACK_LANGUAGE: list(source)}


def _language_for(language: str | None, variants: Mapping[str, list[Template]]) -> str:
    """The post's language, its base language ("pt" for "pt-BR"), English, or the template's first."""
    wanted = (language or "").lower()
    for candidate in (wanted, wanted.split("-")[0], FALLBACK_LANGUAGE):
        if candidate in variants:
            return candidate
    return next(iter(variants))
