"""Every platform Hark knows, by the name stored with each mention. An unknown name raises."""

from __future__ import annotations

from hark.errors import ConfigError
from platforms.base import PlatformSpec
from platforms.reddit import REDDIT
from platforms.x import X

PLATFORMS: dict[str, PlatformSpec] = {
    X.name: X,
    REDDIT.name: REDDIT,
}


class UnknownPlatformError(ConfigError, LookupError):
    """A name that no platform module registered: a typo in config, or a module that was removed."""


def get_platform(name: str) -> PlatformSpec:
    try:
        return PLATFORMS[name]
    except KeyError:
        known = ", ".join(sorted(PLATFORMS))
        raise UnknownPlatformError(f"unknown platform {name!r} (known: {known})") from None


def platform_names() -> tuple[str, ...]:
    return tuple(PLATFORMS)


def known_platform(name: str) -> str:
    """A pydantic AfterValidator: the name of a registered platform, else ValueError."""
    if name not in PLATFORMS:
        raise ValueError(f"unknown platform {name!r} (known: {', '.join(sorted(PLATFORMS))})")
    return name


def split_handle_ref(ref: str) -> tuple[PlatformSpec, str] | None:
    """(platform, bare handle) when `ref` is `platform:handle` or a handle in a platform's own form
    (`@name`, `u/name`); None for anything else. Registry order decides a form two platforms share."""
    ref = ref.strip()
    name, sep, handle = ref.partition(":")
    if sep and name in PLATFORMS:
        return PLATFORMS[name], PLATFORMS[name].bare_handle(handle)
    for platform in PLATFORMS.values():
        bare = platform.bare_handle(ref)
        if bare != ref:
            return platform, bare
    return None
