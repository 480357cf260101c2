"""API fixtures: the app over the shared sample index (read-only) or over a fresh index
(for tests that write), in extractive mode or with an LLM whose endpoint respx mocks."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.components import Components
from tests.api.fakes import API_KEY, LLM_BASE, MODEL
from tests.conftest import make_settings


def llm_settings(index_dir, **overrides):
    overrides.setdefault("llm_max_retries", 1)
    return make_settings(index_dir, llm_model=MODEL, llm_base_url=LLM_BASE, llm_api_key=API_KEY, **overrides)


def sharing(components: Components, settings) -> Components:
    """Other settings over the same Chroma client and collection."""
    return Components(settings, components.embedder, components.client, components.collection)


@pytest.fixture
def api(sample_index):
    """Extractive mode over the sample corpus."""
    with TestClient(create_app(sample_index.settings, sample_index)) as client:
        yield client


@pytest.fixture
def llm_api(sample_index, caplog):
    """LLM mode over the sample corpus; the test mocks POST {LLM_BASE}/chat/completions.
    Afterwards, the API key must not appear in anything that was logged."""
    caplog.set_level(logging.DEBUG)
    settings = llm_settings(sample_index.settings.index_dir)
    with TestClient(create_app(settings, sharing(sample_index, settings))) as client:
        yield client
    assert API_KEY not in caplog.text


@pytest.fixture
def fresh_api(components):
    """Extractive mode over an empty index of its own, for tests that write."""
    with TestClient(create_app(components.settings, components)) as client:
        yield client
