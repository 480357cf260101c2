"""Timelines over the sample corpus: dated steps, oldest first, each one verified quote;
wire copies folded, corrections shown as corrections; the questions that ask for one."""

from __future__ import annotations

import pytest

from service.answer.timelines import TimelineBuilder, correction_note, timeline_answer, timeline_events, timeline_topic
from service.models import Filters

SONNET = "silicon-2024-06-20-claude-3-5-sonnet"
SONNET_FIX = "silicon-2024-06-24-correction-claude-3-5-sonnet"


@pytest.fixture(scope="module")
def builder(sample_index):
    return TimelineBuilder(sample_index.retriever, sample_index.store.get_article_texts)


@pytest.mark.parametrize(("question", "topic"), [
    ("How did the Kestrel Pay outage develop?", "the Kestrel Pay outage"),
    ("how has Microsoft's relationship with OpenAI evolved so far?", "Microsoft's relationship with OpenAI"),
    ("What happened with the EU AI Act?", "the EU AI Act"),
    ("What has happened to Riverton FC", "Riverton FC"),
    ("Timeline of the OpenAI funding round", "the OpenAI funding round"),
    ("Give me a timeline for Claude 3.5 Sonnet", "Claude 3.5 Sonnet"),
    ("timeline: Stargate", "Stargate"),
])
def test_questions_that_ask_how_a_story_developed(question, topic):
    assert timeline_topic(question) == topic


@pytest.mark.parametrize("question", ["How much did OpenAI raise?", "What happened?", "Who runs Microsoft AI?",
                                      "How did Nvidia's revenue change in the quarter?"])
def test_other_questions_are_not_timelines(question):
    assert timeline_topic(question) is None


def test_steps_are_dated_oldest_first_and_quote_their_article_exactly(builder, sample_index):
    timeline = builder.build("Microsoft's in-house MAI models")
    assert len(timeline.steps) >= 3
    dates = [s.date for s in timeline.steps]
    assert dates == sorted(dates)
    texts = sample_index.store.get_article_texts([s.citation.article_id for s in timeline.steps])
    for step in timeline.steps:
        c = step.citation
        assert texts[c.article_id][c.start:c.end] == c.quote
        assert step.dated_by in ("event", "article")
    articles = [s.citation.article_id for s in timeline.steps]
    assert articles.index("northgate-2024-05-06-microsoft-mai-1-training") < articles.index(
        "bayline-2025-08-28-microsoft-mai-models")


def test_a_correction_is_shown_as_the_correction_of_its_report(builder):
    steps = {s.citation.article_id: s for s in builder.build("Claude 3.5 Sonnet launch and pricing").steps}
    fix = steps[SONNET_FIX]
    assert steps[SONNET].corrects is None
    assert fix.corrects is not None and fix.corrects.article_id == SONNET
    assert fix.note == "Corrected: $5 → $3"
    assert "$3" in fix.citation.quote and "$5" not in fix.citation.quote  # what is right, not what was wrong
    assert fix.to_dict()["kind"] == "correction" and fix.dated_by == "article"


def test_a_wire_copy_is_folded_under_its_original(builder):
    timeline = builder.build("the EU AI Act")
    shown = [s.citation.article_id for s in timeline.steps]
    assert "meridian-2024-08-01-eu-ai-act-in-force" in shown
    rules = [s for s in timeline.steps if s.citation.article_id in (
        "harborview-2025-08-01-eu-ai-act-gpai-rules", "quarry-2025-08-02-eu-ai-act-gpai-rules")]
    assert len(rules) == 1 and len(rules[0].copies) == 1


def test_filters_apply_to_the_timeline(builder):
    timeline = builder.build("Microsoft's in-house MAI models", Filters.from_mapping({"published_after": "2025-01-01"}))
    assert timeline.steps and all(s.date >= "2025" for s in timeline.steps)


def test_a_timeline_as_an_answer_numbers_its_steps_as_sources(builder):
    timeline = builder.build("Claude 3.5 Sonnet launch and pricing")
    answer, retrieval = timeline_answer(timeline, "req-1", {"retrieve": 1.0, "generate": 0.0, "total": 1.0})
    assert answer.answerable and answer.timeline is not None
    assert [c.n for c in answer.citations] == list(range(1, len(timeline.steps) + 1))
    assert len(answer.sources) == len(answer.citations) == len(retrieval.passages)
    assert "[1]" in answer.answer and answer.answer.startswith("How Claude 3.5 Sonnet launch and pricing developed")
    data = answer.to_dict()
    assert data["timeline"]["steps"][0]["citation"]["n"] == 1


def test_an_unknown_story_is_a_refusal(builder):
    events = list(timeline_events(builder, "the Zorblax quantum yacht race"))
    done = events[-1].answer
    assert [e.name for e in events] == ["sources", "delta", "done"]
    assert not done.answerable and done.timeline is None and done.citations == []


def test_correction_note():
    assert correction_note("Correction: Claude 3.5 Sonnet costs $3, not $5, per million input tokens") == \
        "Corrected: $5 → $3"
    assert correction_note("Correction: the bridge will cost $21 million, not $12 million") == \
        "Corrected: $12 million → $21 million"
    assert correction_note("Correction: an earlier version misspelled a name") is None
