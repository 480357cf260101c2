"""Per-channel settings: validated at start-up, with errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.errors import ConfigError
from service.slack.channels import load_channels


def write(tmp_path, text: str):
    path = tmp_path / "channels.yaml"
    path.write_text(text)
    return path


def test_channels_map_to_collection_filters_and_mentions_only(tmp_path):
    config = load_channels(write(tmp_path, """
default:
  top_k: 5
channels:
  C0MARKETS:
    collection: markets
    filters:
      sources: [Meridian Press Agency]
      published_after: 2025-01-01
      published_before: "2025-06-30T12:00:00Z"
    mentions_only: true
"""))
    markets = config.for_channel("C0MARKETS")
    assert markets.collection == "markets" and markets.mentions_only
    filters = markets.filters.to_filters()
    assert filters.outlets == ("Meridian Press Agency",)
    assert filters.published_after == datetime(2025, 1, 1, tzinfo=UTC)
    assert filters.published_before == datetime(2025, 6, 30, 12, tzinfo=UTC)
    other = config.for_channel("C0OTHER")
    assert other.top_k == 5 and other.collection is None and not other.mentions_only
    assert other.filters.to_filters().empty


def test_no_file_means_defaults_everywhere(tmp_path):
    assert load_channels(None).for_channel("C1").mentions_only is False
    assert load_channels(write(tmp_path, "")).channels == {}


@pytest.mark.parametrize("text, expected", [
    ("channels:\n  C1:\n    mention_only: true\n", "channels.C1.mention_only: Extra inputs are not permitted"),
    ("channels:\n  C1:\n    top_k: 0\n", "channels.C1.top_k"),
    ("channels:\n  C1:\n    filters:\n      published_after: someday\n", "channels.C1.filters.published_after"),
    ("default: [1, 2]\n", "default"),
    ("channels: {C1: {collection: '  '}}\n", "collection must not be empty"),
    ("- just\n- a list\n", "expected a mapping"),
    ("channels: {C1: [unclosed\n", "not valid YAML"),
])
def test_mistakes_stop_start_up_with_the_field_named(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_channels(path)
    assert expected in info.value.message
    assert str(path) in info.value.message


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_channels(tmp_path / "nope.yaml")
