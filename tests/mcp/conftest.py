"""A small index of three articles, built once for the MCP tests."""

from __future__ import annotations

import pytest

from service.components import Components
from tests.conftest import make_article, make_settings

ARTICLES = [
    make_article("harbour", title="Harbour dredging approved",
                 text="The port authority approved a 40 million euro dredging plan for the old harbour on Tuesday. "
                      "Work starts in March and should let container ships of 14,000 TEU dock by 2027.",
                 outlet="Coast Courier", url="https://coast.example/harbour"),
    make_article("orchard", title="Cider orchards recover",
                 text="Apple growers in the valley said the cider harvest recovered to 9,200 tonnes after two poor years. "
                      "A wet spring and fewer late frosts helped the blossom set.",
                 outlet="Valley Times"),
    make_article("tramline", title="Tram line opens",
                 text="The new eastern tram line opened on Saturday with twelve stops between the station and the hospital. "
                      "The city expects 18,000 riders a day once the timetable is complete.",
                 outlet="Coast Courier"),
]


def build_index(tmp_path_factory, embedder) -> Components:
    """The three articles in an index of their own (the interop tests read it too)."""
    settings = make_settings(tmp_path_factory.mktemp("mcp-index"))
    components = Components.build(settings, embedder=embedder)
    report = components.ingester.ingest(ARTICLES)
    assert len(report.added) == len(ARTICLES)
    return components


@pytest.fixture(scope="module")
def mcp_index(tmp_path_factory, embedder) -> Components:
    return build_index(tmp_path_factory, embedder)
