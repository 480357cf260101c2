"""The engine's stream is typed: one SourcesEvent, DeltaEvents, one DoneEvent, and the done
event carries the retrieval and the draft the evals read (no shared state on the engine)."""

import httpx

from service.answer.events import DeltaEvent, DoneEvent, SourcesEvent
from tests.answer.test_engine import BASE, engine_for


def test_extractive_stream_is_sources_delta_done(sample_index):
    engine = engine_for(sample_index, llm=False)
    events = list(engine.stream("How much did Amazon invest in Anthropic in November 2024?"))
    assert [type(e) for e in events] == [SourcesEvent, DeltaEvent, DoneEvent]
    sources, delta, done = events
    assert [s.article_id for s in sources.sources] == [p.article_id for p in sources.retrieval.passages]
    assert done.retrieval is sources.retrieval and done.answer.request_id == sources.request_id
    assert done.draft == delta.text and "[1]" in done.draft
    assert not hasattr(engine, "last_retrieval")


def test_llm_failure_replaces_the_text_and_the_run_says_so(sample_index, respx_mock):
    respx_mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(500, json={"error": {"message": "boom"}}))
    engine = engine_for(sample_index)
    events = list(engine.stream("How much did Amazon invest in Anthropic in November 2024?"))
    deltas = [e for e in events if isinstance(e, DeltaEvent)]
    assert len(deltas) == 1 and deltas[0].replace
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.answer.degraded and done.draft == deltas[0].text


def test_a_refusal_has_no_draft(sample_index, respx_mock):
    done = engine_for(sample_index).run("What is the boiling point of tungsten in kelvin?")
    assert not done.answer.answerable and done.draft is None
    assert not respx_mock.calls
