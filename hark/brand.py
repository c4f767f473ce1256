"""Who "we" are: the brand's accounts (never customers, never replied to) and the terms that name it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from hark.handles import handle_key
from hark.records import Mention
from hark.validation import zone_name


class BrandConfig(BaseModel):
    """The `brand` section of config.yaml. Which platforms `accounts` may name is checked by app config."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    # per platform: handle -> the platform's user id of each account we own (null or a plain list of
    # handles where the id is not known in advance, as on Reddit)
    accounts: dict[str, dict[str, str | None]] = {}
    terms: tuple[str, ...] = ()  # words or phrases that name the brand
    exclude_terms: tuple[str, ...] = ()  # phrases that mean something else ("cumulonimbus")
    # the brand's own clock: quiet hours, and the weeks of reports
    timezone: Annotated[str, AfterValidator(zone_name)] = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @model_validator(mode="before")
    @classmethod
    def _accounts_by_platform(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        moved = sorted(k for k in data if str(k).endswith("_accounts"))
        if moved:  # the layout before one-place-per-platform: say where it went, not just "extra"
            raise ValueError(
                "; ".join(
                    f"{k} moved: write it as accounts.{str(k).removesuffix('_accounts')}" for k in moved
                )
            )
        accounts = data.get("accounts")
        if isinstance(accounts, dict):
            data = {
                **data,
                "accounts": {
                    platform: dict.fromkeys(handles) if isinstance(handles, list | tuple) else handles
                    for platform, handles in accounts.items()
                },
            }
        return data

    @property
    def handles(self) -> tuple[str, ...]:
        """Every handle we own, on any platform."""
        return tuple(handle for owned in self.accounts.values() for handle in owned)


@dataclass(frozen=True)
class OwnAccounts:
    """Which posts are our own: never ingested as mentions, never replied to, recorded as our responses."""

    ids: Mapping[str, frozenset[str]]  # platform -> user ids
    handles: Mapping[str, frozenset[str]]  # platform -> handle keys

    @classmethod
    def build(cls, brand: BrandConfig) -> OwnAccounts:
        return cls(
            {p: frozenset(i for i in owned.values() if i) for p, owned in brand.accounts.items()},
            {p: frozenset(handle_key(h) for h in owned) for p, owned in brand.accounts.items()},
        )

    def ids_on(self, platform: str) -> frozenset[str]:
        return self.ids.get(platform, frozenset())

    def handles_on(self, platform: str) -> frozenset[str]:
        return self.handles.get(platform, frozenset())

    def owns(self, mention: Mention) -> bool:
        """Ours if the author's user id or handle is one of our accounts' on that platform."""
        author = mention.author
        return author.user_id in self.ids_on(mention.platform) or (
            handle_key(author.handle) in self.handles_on(mention.platform)
        )
