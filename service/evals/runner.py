"""The eval suite: JSONL cases over the sample corpus, run through the real pipeline (real
index, retrieval and citation checks) in extractive mode and in LLM mode with the model's
responses replayed from cassettes, then scored.

    cases.jsonl -> load_cases -> run_suite (per mode: engine.ask + retrieval ranking)
                -> service.evals.scoring (metrics per mode) -> service.evals.baseline (comparison)
                -> service.evals.reports (report.json, and report.md and .html through report_view)

The `newsdesk eval` commands are in `service.evals.commands`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.errors import EvalError
from service.evals import metrics
from service.evals.cases import CaseRun, Corpus, EvalCase
from service.models import Answer

if TYPE_CHECKING:
    from service.answer.events import DoneEvent

MODES = ("extractive", "llm")
# The date the prompt tells the model it is. Fixed, so the messages (and so the cassette
# keys) do not change from day to day; just after the newest sample article.
EVAL_TODAY = date(2025, 11, 1)
EVAL_COLLECTION = "eval-sample"
DEFAULT_REPLAY_MODEL = "gpt-4o-mini"


def prepare_index(components, corpus: Corpus, console=None) -> None:
    """Make the collection hold exactly the corpus: ingest (idempotent, so an unchanged
    article costs nothing) and drop articles that are no longer in it."""
    components.ingester.backfill_sentence_vectors()
    report = components.ingester.ingest(corpus.articles)
    if report.failed:
        raise EvalError(f"sample corpus failed to ingest: {report.failed[0].message}")
    stored = {a.article_id for a in components.store.iter_articles()}
    for stale in sorted(stored - corpus.ids):
        components.store.delete_article(stale)
    if console is not None and (report.added or report.updated):
        console.print(f"indexed {len(report.added) + len(report.updated)} article(s) into {components.collection!r}")


def build_engine(components, chat=None, *, today: date = EVAL_TODAY):
    from service.answer.engine import AnswerEngine
    from service.answer.extractive import Extractor
    from service.answer.gate import load_gate_model

    settings = components.settings
    return AnswerEngine(
        retriever=components.retriever,
        article_texts=components.store.get_article_texts,
        extractor=Extractor(),
        relevance_threshold=settings.relevance_threshold,
        gate_model=load_gate_model(settings.gate_model) if settings.gate_model else None,
        chat=chat,
        prompt=components.prompt if chat else None,
        today=lambda: today,
        default_top_k=settings.top_k,
    )


def replay_chat_model(model: str):
    import openai

    from service.answer.llm import ChatModel
    from service.evals.cassettes import REPLAY_BASE_URL

    client = openai.OpenAI(api_key="replay-needs-no-key", base_url=REPLAY_BASE_URL, max_retries=0, timeout=30.0)
    return ChatModel(client, model)


def live_chat_model(settings, *, base_url: str | None, model: str, store, case_id: Callable[[], str | None]):
    """A chat model at a real endpoint whose completions are written to `store`."""
    import httpx
    import openai

    from service.answer.llm import ChatModel
    from service.evals.cassettes import RecordingTransport

    base_url = base_url or settings.resolved_llm_base_url()
    transport = RecordingTransport(httpx.HTTPTransport(), store, case_id)
    client = openai.OpenAI(
        api_key=settings.resolved_llm_api_key() or "not-needed", base_url=base_url,
        max_retries=settings.llm_max_retries, timeout=settings.llm_timeout_s,
        http_client=httpx.Client(transport=transport, timeout=settings.llm_timeout_s),
    )
    return ChatModel(client, model, settings.llm_temperature), transport


def ranking_for(retriever, case: EvalCase) -> list[str]:
    found = retriever.search(case.question, case.filters)
    return metrics.document_ranking((cid, found.chunks[cid].metadata["article_id"]) for cid, _ in found.fused)


def run_case(engine, case: EvalCase, mode: str, *, replayer=None, recorder=None) -> CaseRun:
    from service.evals.cassettes import Turn

    if recorder is not None:
        recorder.last_content = None
    retrieved: list = []  # the case's sources, known before the model is called
    if replayer is not None:
        replayer.start(Turn(case.id, case.scripted, lambda: retrieved[0].passages,
                            force_script=case.adversarial is not None))
    done = final_event(engine, case, retrieved)
    answer, retrieval = done.answer, done.retrieval
    served = error = None
    raw = answer.answer if not answer.answerable else (done.draft or "")
    if mode == "llm":
        served, raw, error = model_reply(answer, raw, replayer, recorder)
    return CaseRun(case, mode, answer, raw, ranking_for(engine.retriever, case),
                   retrieval.best_dense if retrieval else 0.0, served, error)


def final_event(engine, case: EvalCase, retrieved: list) -> DoneEvent:
    """The case's answer, streamed as the API streams it; its retrieval goes into `retrieved`
    as soon as it is known, for a replayer that needs the passages before the model is called."""
    from service.answer.events import DoneEvent, SourcesEvent

    done = None
    for event in engine.stream(case.question, case.filters, stream_llm=False):
        if isinstance(event, SourcesEvent):
            retrieved.append(event.retrieval)
        elif isinstance(event, DoneEvent):
            done = event
    if done is None:  # stream() always ends with one: a broken engine, not a failed case
        raise RuntimeError(f"case {case.id!r}: the answer stream ended without a done event")
    return done


def model_reply(answer: Answer, raw: str, replayer, recorder) -> tuple[str | None, str, str | None]:
    """An LLM-mode case's (served, raw text, error): who answered (a cassette, the script, a
    live model), the text it wrote before the checks, and why the model call failed, if it did."""
    served = error = None
    if replayer is not None and replayer.served:
        served, raw = replayer.served, replayer.content or ""
    elif recorder is not None and recorder.last_content is not None:
        served, raw = "live", recorder.last_content
    if replayer is not None and replayer.error is not None:
        error = replayer.error.message
    elif answer.degraded:
        error = f"the model call failed: {answer.degraded_reason}"
    return served, raw, error


@dataclass
class RecordOptions:
    """Where `--record` sends the model calls; the key comes from `settings`."""

    base_url: str | None
    model: str
    settings: Any = field(default=None, repr=False)


def run_mode(components, cases: Sequence[EvalCase], mode: str, *, corpus: Corpus, cassettes: Path,
             model: str = DEFAULT_REPLAY_MODEL, record: RecordOptions | None = None,
             progress: Callable[[str, EvalCase], None] | None = None) -> list[CaseRun]:
    from service.evals.cassettes import CassetteStore, Replayer, replaying

    store = CassetteStore(cassettes)
    runs: list[CaseRun] = []
    if mode == "extractive":
        engine = build_engine(components)
        for case in cases:
            runs.append(run_case(engine, case, mode))
            if progress:
                progress(mode, case)
        return runs

    replayer = Replayer(store, corpus.ids)
    replay_engine = build_engine(components, replay_chat_model(record.model if record else model))
    live_engine = recorder = None
    current: dict[str, str | None] = {"case": None}
    if record is not None:
        chat, recorder = live_chat_model(record.settings or components.settings, base_url=record.base_url, model=record.model,
                                  store=store, case_id=lambda: current["case"])
        live_engine = build_engine(components, chat)
    for case in cases:
        current["case"] = case.id
        if live_engine is not None and case.adversarial is None:
            runs.append(run_case(live_engine, case, mode, recorder=recorder))
        else:
            # Adversarial answers are always the scripted ones: they test the validators.
            with replaying(replayer):
                runs.append(run_case(replay_engine, case, mode, replayer=replayer))
        if progress:
            progress(mode, case)
    return runs


def run_suite(components, cases: Sequence[EvalCase], corpus: Corpus, *, modes: Iterable[str] = MODES,
              cassettes: Path, model: str = DEFAULT_REPLAY_MODEL, record: RecordOptions | None = None,
              progress: Callable[[str, EvalCase], None] | None = None,
              mutations: Path | None = None, injections: Path | None = None):
    """Every case in every mode, scored (a `service.evals.scoring.SuiteResult`), plus the
    mutation set over the LLM-mode runs and the injection variants, when given."""
    runs = {mode: run_mode(components, cases, mode, corpus=corpus, cassettes=cassettes, model=model,
                           record=record, progress=progress)
            for mode in modes}
    from service.evals import mutations as mutation_set
    from service.evals.injections import injection_metrics
    from service.evals.scoring import refusal_intervals, score

    result = score(runs, corpus.texts)
    if mutations is not None and mutations.is_file() and "llm" in runs:
        planted = mutation_set.load_mutations(mutations, {c.id for c in cases})
        result.mutations = mutation_set.run_mutations(runs["llm"], planted, corpus)
        result.metrics.update(mutation_set.summary(result.mutations))
    if injections is not None and injections.is_dir():
        values, result.injections = injection_metrics(injections)
        result.metrics.update(values)
    result.intervals = refusal_intervals(runs)
    result.info = {
        "cases": len(cases),
        "modes": list(runs),
        "model": (record.model if record else model) if "llm" in runs else None,
        "prompt": components.settings.answer_prompt,
        "embedding_model": components.embedder.model_id,
        "relevance_threshold": components.settings.relevance_threshold,
        "top_k": components.settings.top_k,
        "today": EVAL_TODAY.isoformat(),
        "served": {m: _tally(r.served or "none" for r in rs) for m, rs in runs.items()},
    }
    return result


def _tally(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
