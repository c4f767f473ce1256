"""Reply templates: values are data, posters' values are cleaned, variants per language, and a reply that
does not fit its platform is refused with the reason, never cut."""

from __future__ import annotations

import pytest

from hark.errors import ConfigError
from platforms.reddit import REDDIT
from platforms.x import X, weighted_length
from responders.config import RoutingConfig
from responders.templates import TEMPLATE_VARIABLES, Rendered, ReplyTemplates, clean_value

VALUES = dict.fromkeys(TEMPLATE_VARIABLES, "") | {"author": "ana", "brand": "Nimbus Cycles"}


def render(
    templates: ReplyTemplates, name: str, *, language: str | None = "en", key: str = "x:1", **values: str
) -> Rendered:
    return templates.render(name, platform=X, language=language, key=key, values=VALUES | values)


@pytest.mark.parametrize(
    "hostile",
    ["{{ 7*7 }}", "{% for x in range(3) %}loop{% endfor %}", "<!channel>", "{{ author.__class__ }}"],
)
def test_post_values_render_as_text_never_as_template_code(hostile: str) -> None:
    templates = ReplyTemplates({"thanks": "Thanks {{ customer_name }}!"})
    assert render(templates, "thanks", customer_name=hostile).text == f"Thanks {clean_value(hostile)}!"
    assert "49" not in (render(templates, "thanks", customer_name="{{ 7*7 }}").text or "")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Ana\nSouza", "Ana Souza"),  # no line breaks in a public reply
        ("Ana \u202eazuoS\u202c", "Ana azuoS"),  # bidi override and pop removed
        ("@elonmusk fan", "elonmusk fan"),  # no third account mentioned through us
        ("\uff20someone", "someone"),  # the full-width @ mentions on X too
        ("tab\there\x07bell", "tab herebell"),
        ("  lots   of   space ", "lots of space"),
        ("Lucía 🚲", "Lucía 🚲"),
    ],
)
def test_values_the_poster_controls_are_cleaned(raw: str, clean: str) -> None:
    assert clean_value(raw) == clean


def test_a_reply_that_does_not_fit_is_refused_not_cut() -> None:
    templates = ReplyTemplates({"long": "{{ customer_name }}"})
    fits = render(templates, "long", customer_name="a" * 280)
    assert fits.text == "a" * 280
    refused = render(templates, "long", customer_name="a" * 281)
    assert refused.text is None
    assert refused.refused == "the reply is 281 of X's 280 long"
    # X weighs CJK and emoji double: 141 of them are 282
    assert render(templates, "long", customer_name="日" * 141).refused == "the reply is 282 of X's 280 long"
    reddit = templates.render(
        "long", platform=REDDIT, language="en", key="k", values=VALUES | {"customer_name": "日" * 141}
    )
    assert reddit.text == "日" * 141  # Reddit counts characters, up to 10,000


def test_x_counts_urls_as_23_and_emoji_as_2() -> None:
    assert weighted_length("see https://example.com/" + "x" * 100) == 4 + 23
    assert weighted_length("😀") == 2
    assert weighted_length("ab") == 2


def test_variants_per_language_fall_back_to_english_and_stay_stable_per_mention() -> None:
    templates = ReplyTemplates(
        {
            "thanks": {
                "en": ["Thanks, {{ author }}!", "Thank you, {{ author }}!"],
                "es": "¡Gracias, {{ author }}!",
            }
        }
    )
    assert render(templates, "thanks", language="es").text == "¡Gracias, ana!"
    assert render(templates, "thanks", language="es-MX").text == "¡Gracias, ana!"
    assert render(templates, "thanks", language="de").text in ("Thanks, ana!", "Thank you, ana!")
    first = render(templates, "thanks", key="x:1").text
    assert all(
        render(templates, "thanks", key="x:1").text == first for _ in range(5)
    )  # a retry says the same
    picked = {render(templates, "thanks", key=f"x:{n}").text for n in range(20)}
    assert picked == {"Thanks, ana!", "Thank you, ana!"}  # different mentions get different words


def test_template_typos_and_unsafe_templates_stop_startup() -> None:
    with pytest.raises(ConfigError, match=r"routing\.templates\.bad\[0\]"):
        ReplyTemplates({"bad": "Hi {{ autor }}"})
    with pytest.raises(ConfigError, match=r"routing\.templates\.evil"):
        ReplyTemplates({"evil": "{{ author.__class__.__mro__[1].__subclasses__() }}"})
    with pytest.raises(ConfigError, match=r"routing\.templates\.thanks\.es\[1\]"):
        ReplyTemplates({"thanks": {"en": "ok", "es": ["bien", "{{ nope }}"]}})


def test_routing_config_refuses_empty_templates_and_unknown_suggestions() -> None:
    with pytest.raises(ValueError, match=r"templates\.empty: a template needs at least one non-empty text"):
        RoutingConfig.model_validate({"templates": {"empty": []}})
    with pytest.raises(ValueError, match=r"suggestions\.complaint: no template named .sorry."):
        RoutingConfig.model_validate({"templates": {"thanks": "hi"}, "suggestions": {"complaint": "sorry"}})


@pytest.mark.parametrize(
    ("name", "fits_x", "fits_reddit"),
    [
        ("日本語" * 100, False, True),  # 300 characters: 600 of X's weighted 280, fine for Reddit
        ("🚲" * 150, False, True),  # 159 characters, but X counts each emoji twice: 309
        ("{{ 7*7 }}" * 20, True, True),
        ("{% for x in y %}" * 12, True, True),
        ("a" * 10_000, False, False),
        ("日本語の名前" * 1700, False, False),
    ],
)
def test_hostile_names_never_render_as_code_nor_over_the_limit(
    name: str, fits_x: bool, fits_reddit: bool
) -> None:
    templates = ReplyTemplates({"thanks": "Thanks, {{ customer_name }}!"})
    for platform, fits in ((X, fits_x), (REDDIT, fits_reddit)):
        values = VALUES | {"customer_name": name}
        rendered = templates.render("thanks", platform=platform, language="en", key="k", values=values)
        assert (rendered.text is not None) is fits, (platform.name, rendered.refused)
        if rendered.text is None:
            assert f"of {platform.title}'s {platform.reply_limit} long" in (rendered.refused or "")
        else:
            assert rendered.text == f"Thanks, {name}!"  # the value, as text: never evaluated
            assert platform.reply_length(rendered.text) <= platform.reply_limit


def test_names_stored_with_each_reply_fit_their_columns() -> None:
    with pytest.raises(ValueError, match="at most 70 characters"):
        RoutingConfig.model_validate({"rules": [{"name": "r" * 71, "action": "queue"}]})
    with pytest.raises(ValueError, match="over 100 characters"):
        RoutingConfig.model_validate({"templates": {"t" * 101: "hi"}})
