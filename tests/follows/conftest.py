"""Follows over a fresh embedded store holding the small stories of `stories.py`."""

from __future__ import annotations

import pytest

from service.collections import Collections
from service.components import Components
from service.follows.running import build_follows
from tests.conftest import make_settings
from tests.follows import stories


@pytest.fixture
def story_settings(tmp_path):
    return make_settings(tmp_path / "index", webhook_allow_hosts="127.0.0.1")


@pytest.fixture
def story_components(story_settings, embedder):
    components = Components.build(story_settings, embedder=embedder)
    components.ingester.ingest([stories.BRIDGE, stories.ACADEMY, stories.FERRY, stories.UNRELATED])
    return components


@pytest.fixture
def follows(story_settings, story_components):
    """One replica's follows (desk, follower, deliveries), not started: tests drive them."""
    return build_follows(story_settings, Collections(story_components))


def replica(settings, components: Components, *, lexical_dir=None, **kwargs):
    """Another replica over the same store: its own components (and lexical index)."""
    if lexical_dir is not None:
        settings = settings.model_copy(update={"lexical_dir": lexical_dir})
    other = Components(settings, components.embedder, components.client, components.collection)
    return build_follows(settings, Collections(other), **kwargs)
