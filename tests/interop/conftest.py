"""The MCP tests' three-article index: the retriever is checked over the same articles."""

from __future__ import annotations

import pytest

from service.components import Components
from tests.mcp.conftest import build_index


@pytest.fixture(scope="module")
def mcp_index(tmp_path_factory, embedder) -> Components:
    return build_index(tmp_path_factory, embedder)
