"""Per-channel settings, read from the YAML file named by `NEWSDESK_SLACK_CHANNELS_FILE`.

    default:                      # every channel not listed below
      mentions_only: false
    channels:
      C0123456789:
        collection: markets       # answer from this collection instead of the default one
        filters:
          sources: [Meridian Press Agency, The Ledger Wire]
          published_after: 2025-01-01
        top_k: 6
        mentions_only: true       # only @mentions; no /ask, no follow-ups without a mention

The file is validated when the bot starts; a mistake stops it with the file, the channel
and the field named.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.errors import ConfigError
from service.models import MAX_TOP_K, Filters


class ChannelFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(default_factory=list)
    article_ids: list[str] = Field(default_factory=list)
    published_after: datetime | date | None = None
    published_before: datetime | date | None = None

    def to_filters(self) -> Filters:
        return Filters.from_mapping(self.model_dump())


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection: str | None = None  # None: the collection the bot was started with
    filters: ChannelFilters = Field(default_factory=ChannelFilters)
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K)
    mentions_only: bool = False

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("collection must not be empty; leave it out to use the default collection")
        return value


class ChannelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: ChannelSettings = Field(default_factory=ChannelSettings)
    channels: dict[str, ChannelSettings] = Field(default_factory=dict)

    def for_channel(self, channel_id: str | None) -> ChannelSettings:
        return self.channels.get(channel_id or "", self.default)


def load_channels(path: Path | None) -> ChannelsConfig:
    """The channel settings in `path`; an unset path means defaults for every channel."""
    if path is None:
        return ChannelsConfig()
    if not path.is_file():
        raise ConfigError(f"Slack channels file not found: {path} (NEWSDESK_SLACK_CHANNELS_FILE)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Slack channels file {path} is not valid YAML: {exc}") from None
    if data is None:
        return ChannelsConfig()
    if not isinstance(data, dict):
        raise ConfigError(f"Slack channels file {path}: expected a mapping with `default:` and `channels:`")
    # YAML reads an unquoted id such as 123 as a number; channel ids are strings.
    if isinstance(data.get("channels"), dict):
        data["channels"] = {str(k): v for k, v in data["channels"].items()}
    try:
        return ChannelsConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"Slack channels file {path}: {problems}") from None
