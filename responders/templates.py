"""Reply templates rendered in Jinja's sandbox; values from posts are data, never template source."""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from hark.errors import ConfigError

TEMPLATE_VARIABLES = ("author", "customer_name", "brand", "platform", "intent")


class ReplyTemplates:
    """Compiled templates; every one is test-rendered at startup so a typo stops the process, not a reply."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self._env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        sample = dict.fromkeys(TEMPLATE_VARIABLES, "x")
        self._templates = {}
        for name, source in sources.items():
            try:
                template = self._env.from_string(source)
                template.render(sample)
            except TemplateError as err:
                raise ConfigError(
                    f"routing.templates.{name}: {err} (variables: {', '.join(TEMPLATE_VARIABLES)})"
                ) from err
            self._templates[name] = template

    def render(self, name: str, *, limit: int, **values: str) -> str:
        """The template filled in, at most `limit` characters (the platform's reply limit)."""
        text = self._templates[name].render(values).strip()
        # a handle or name is the only post-controlled part; cut it rather than overflow the platform's limit
        return text[:limit]
