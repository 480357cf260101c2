"""The extractive answer as a reader sees it, over a small town's news: figures only from the
article about what was asked, the correction leading, each sentence quoted once without a
prefix, datelines trimmed, headlines never quoted, and the system's own notes never checked as
claims."""

from datetime import UTC, datetime

import pytest

from service.answer.engine import AnswerEngine
from service.answer.extractive import Extractor
from tests.conftest import make_article, make_settings

TOWN = [
    make_article(
        "elm-bridge", title="Millbrook approves Elm Street Bridge repair", outlet="Millbrook Courier",
        published_at=datetime(2025, 3, 3, tzinfo=UTC),
        text=("Millbrook approves Elm Street Bridge repair\n\n"
              "MILLBROOK, Ore. — The city council voted on Monday to repair the Elm Street Bridge, which has been "
              "closed to trucks since a flood damaged its piers last spring. The Elm Street Bridge repair will cost "
              "$12 million, according to the city's engineering department. Work is expected to start in June and "
              "to last about eighteen months, the mayor said.")),
    make_article(
        "oak-bridge", title="Oak Street Bridge to be replaced", outlet="Valley Herald",
        published_at=datetime(2025, 4, 10, tzinfo=UTC),
        text=("Oak Street Bridge to be replaced\n\n"
              "MILLBROOK, Ore. — Millbrook will tear down the Oak Street Bridge and build a new one across the river "
              "next year. It will cost $8 million, with most of the money coming from a state grant. The old span "
              "was built in 1931 and carries about 4,000 cars a day, officials said.")),
    make_article(
        "elm-correction", title="Correction: Elm Street Bridge repair cost", outlet="Millbrook Courier",
        published_at=datetime(2025, 3, 5, tzinfo=UTC),
        text=("Correction: Elm Street Bridge repair cost\n\n"
              "An earlier version of this article misstated the cost of the Elm Street Bridge repair in Millbrook. "
              "The repair of the Elm Street Bridge will cost $21 million, not $12 million, the city's engineering "
              "department said.")),
]


def _engine(folder, embedder, articles) -> AnswerEngine:
    """An extractive engine over `articles`, indexed in `folder`."""
    from service.components import Components

    components = Components.build(make_settings(folder), embedder=embedder)
    components.ingester.ingest(articles)
    return AnswerEngine(retriever=components.retriever, article_texts=components.store.get_article_texts,
                        extractor=Extractor(), relevance_threshold=components.settings.relevance_threshold)


@pytest.fixture(scope="module")
def town(tmp_path_factory, embedder):
    return _engine(tmp_path_factory.mktemp("town"), embedder, TOWN)


def test_a_figure_comes_from_the_article_about_what_was_asked(town):
    answer = town.ask("How much will the Oak Street Bridge replacement in Millbrook cost?")
    assert answer.answerable and "$8 million" in answer.answer
    assert "$12 million" not in answer.answer and "$21 million" not in answer.answer  # the other bridge's figures
    assert {c.article_id for c in answer.citations} == {"oak-bridge"}
    assert answer.short_answer == "$8 million" and answer.answer.startswith("$8 million.")


def test_the_correction_leads_and_its_note_is_not_checked_as_a_claim(town):
    answer = town.ask("How much will the Elm Street Bridge repair cost?")
    assert answer.answerable
    cited = [c.article_id for c in answer.citations]
    assert cited[0] == "elm-correction" and "elm-bridge" in cited
    assert answer.answer.index("$21 million") < answer.answer.index("$12 million according") \
        if "$12 million according" in answer.answer else True
    assert "supersedes the earlier report" in answer.answer
    assert not any("barely supports" in w for w in answer.warnings)  # the system's note is not a claim
    assert answer.short_answer == "$21 million"


def test_each_sentence_once_no_prefix_and_no_dateline(town):
    answer = town.ask("How much will the Oak Street Bridge replacement in Millbrook cost?")
    quotes = [c.quote for c in answer.citations]
    assert len(quotes) == len(set(quotes))
    assert "Valley Herald," not in answer.answer and "April 10, 2025" not in answer.answer  # the citation has both
    assert not any(q.startswith("MILLBROOK") for q in quotes)  # "MILLBROOK, Ore. —" trimmed, offsets kept
    assert not any("to be replaced" in q for q in quotes)  # the headline is not an answer


PORTS = [
    make_article(
        "ledger-strike", title="Dockworkers walk out at Port Alder", outlet="Harbor Ledger",
        published_at=datetime(2025, 5, 2, tzinfo=UTC),
        text=("Dockworkers walk out at Port Alder\n\n"
              "Dockworkers at Port Alder walked out on Thursday over plans to automate the container cranes. "
              "The strike halted loading at all four berths, the port authority said.")),
    make_article(
        "ledger-ferry", title="Port Alder council approves ferry budget", outlet="Harbor Ledger",
        published_at=datetime(2025, 5, 9, tzinfo=UTC),
        text=("Port Alder council approves ferry budget\n\n"
              "The Port Alder city council approved a budget for the harbour ferry on Monday, raising fares by a "
              "quarter. The council approved the budget by five votes to two.")),
    make_article(
        "tribune-budget", title="Port Alder passes its city budget", outlet="Valley Tribune",
        published_at=datetime(2025, 5, 12, tzinfo=UTC),
        text=("Port Alder passes its city budget\n\n"
              "Port Alder approved a city budget of $48 million for next year, with more money for road repairs. "
              "The budget passed after a long debate, the city clerk said.")),
]


@pytest.fixture(scope="module")
def ports(tmp_path_factory, embedder):
    return _engine(tmp_path_factory.mktemp("ports"), embedder, PORTS)


def test_each_named_outlet_is_cited_for_its_own_part_of_the_question(ports):
    answer = ports.ask("Did the Harbor Ledger report a walk-out at Port Alder, and the Valley Tribune a city budget "
                       "approved?")
    assert answer.answerable
    # the Ledger's report of the walk-out, not its other story, on a budget the council approved
    assert {c.article_id for c in answer.citations} == {"ledger-strike", "tribune-budget"}
    assert "walked out" in answer.answer


def test_an_outlet_named_once_is_cited_from_one_of_its_articles(ports):
    answer = ports.ask("Which city approved a budget, according to the Valley Tribune, and saw dockworkers walk "
                       "out, as reported by the Harbor Ledger?")
    assert answer.answerable
    cited = {c.article_id for c in answer.citations}
    assert cited == {"ledger-strike", "tribune-budget"}  # not the Ledger's ferry budget as well
    assert "$48 million" in answer.answer and "walked out" in answer.answer
