"""The eval suite: JSONL cases over the sample corpus, run through the real pipeline (real
index, retrieval and citation checks) in extractive mode and in LLM mode with the model's
responses replayed from cassettes, then scored.

    cases.jsonl -> load_cases -> run_suite (per mode: engine.ask + retrieval ranking)
                -> service.scoring (metrics per mode) -> service.reporting (baseline, reports)

The `newsdesk eval` commands are in `service.eval_commands`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from service import metrics
from service.cassettes import SCRIPTED_MARKER
from service.errors import EvalError
from service.models import Answer, Article, Filters, Passage

MODES = ("extractive", "llm")
ADVERSARIAL_KINDS = ("hallucinated_source", "uncited_claim", "fabricated_quote", "obeys_injection")
# The date the prompt tells the model it is. Fixed, so the messages (and so the cassette
# keys) do not change from day to day; just after the newest sample article.
EVAL_TODAY = date(2025, 11, 1)
EVAL_COLLECTION = "eval-sample"
DEFAULT_REPLAY_MODEL = "gpt-4o-mini"
# Case files name two kinds of article by placeholder instead of by id: the founding
# article (corpus/microsoft-openai-saga.txt) and plain-text files, whose ids are hashes of
# their text. They are resolved against the corpus when the cases are loaded, so an edit
# to one of those files does not silently break the cases.
FOUNDING = "FOUNDING"
FOUNDING_FILE = "microsoft-openai-saga.txt"
TEXT_PREFIX = "TXT:"


# -- corpus and cases ----------------------------------------------------------------------------

@dataclass
class Corpus:
    articles: list[Article]

    @property
    def texts(self) -> dict[str, str]:
        return {a.article_id: a.text for a in self.articles}

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(a.article_id for a in self.articles)

    def by_file(self) -> dict[str, str]:
        """File name -> article id, for files that hold a single article."""
        counts: dict[str, int] = {}
        names: dict[str, str] = {}
        for article in self.articles:
            name = Path((article.origin or "").split(":")[0]).name
            counts[name] = counts.get(name, 0) + 1
            names[name] = article.article_id
        return {name: aid for name, aid in names.items() if counts[name] == 1}

    def resolve(self, token: str) -> str:
        if token == FOUNDING:
            token = TEXT_PREFIX + FOUNDING_FILE
        if token.startswith(TEXT_PREFIX):
            name = token[len(TEXT_PREFIX):]
            try:
                return self.by_file()[name]
            except KeyError:
                raise EvalError(f"placeholder {token!r}: no single-article file {name!r} in the corpus") from None
        return token


def load_corpus(directory: Path) -> Corpus:
    """The article files of `directory`, as `newsdesk ingest` reads them (a README is
    documentation, not an article)."""
    from service.loading import iter_files, load_file

    articles = []
    for path, error in iter_files([directory]):
        if error:
            raise EvalError(error.message)
        if path.stem.lower() == "readme":
            continue
        found, problems = load_file(path)
        if problems:
            raise EvalError(f"sample corpus: {problems[0].message}")
        articles.extend(found)
    if not articles:
        raise EvalError(f"no articles in {directory}")
    return Corpus(articles)


@dataclass(frozen=True)
class EvalCase:
    id: str
    question: str
    filters: Filters = Filters()
    expected_sources: tuple[str, ...] = ()
    expected_facts: tuple[tuple[str, ...], ...] = ()
    must_refuse: bool = False
    must_mention_conflict: bool = False
    tags: tuple[str, ...] = ()
    scripted: str | None = None
    adversarial: str | None = None
    raw_filters: dict[str, Any] | None = None


def parse_case(record: dict[str, Any], corpus: Corpus, where: str) -> EvalCase:
    from service.loading import parse_date

    def fail(message: str) -> EvalError:
        return EvalError(f"{where}: {message}")

    for name in ("id", "question"):
        if not isinstance(record.get(name), str) or not record[name].strip():
            raise fail(f"`{name}` must be a non-empty string")
    raw_filters = record.get("filters") or None
    try:
        filters = Filters(
            published_after=parse_date((raw_filters or {}).get("published_after")),
            published_before=parse_date((raw_filters or {}).get("published_before")),
            sources=tuple((raw_filters or {}).get("sources") or ()),
            article_ids=tuple(corpus.resolve(a) for a in (raw_filters or {}).get("article_ids") or ()),
        )
    except (ValueError, AttributeError) as exc:
        raise fail(f"bad filters: {exc}") from None
    expected = tuple(corpus.resolve(s) for s in record.get("expected_sources") or ())
    unknown = [s for s in expected + filters.article_ids if s not in corpus.ids]
    if unknown:
        raise fail(f"article id(s) not in the corpus: {', '.join(unknown)}")
    facts = record.get("expected_facts") or []
    if not all(isinstance(f, list) and f and all(isinstance(p, str) for p in f) for f in facts):
        raise fail("`expected_facts` must be a list of non-empty lists of phrasings")
    adversarial = record.get("adversarial") or None
    if adversarial is not None and adversarial not in ADVERSARIAL_KINDS:
        raise fail(f"unknown adversarial kind {adversarial!r} (known: {', '.join(ADVERSARIAL_KINDS)})")
    scripted = record.get("scripted")
    if scripted is not None:
        scripted = SCRIPTED_MARKER.sub(lambda m: f"[@{corpus.resolve(m.group(1))}]", str(scripted))
    return EvalCase(
        id=record["id"],
        question=record["question"],
        filters=filters,
        expected_sources=expected,
        expected_facts=tuple(tuple(f) for f in facts),
        must_refuse=bool(record.get("must_refuse")),
        must_mention_conflict=bool(record.get("must_mention_conflict")),
        tags=tuple(record.get("tags") or ()),
        scripted=scripted,
        adversarial=adversarial,
        raw_filters=raw_filters,
    )


def load_cases(path: Path, corpus: Corpus) -> list[EvalCase]:
    if not Path(path).is_file():
        raise EvalError(f"no cases file at {path}")
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{where}: invalid JSON: {exc.msg}") from None
        try:
            case = parse_case(record, corpus, where)
        except EvalError as exc:
            raise exc if exc.message.startswith(where) else EvalError(f"{where}: {exc.message}") from None
        if case.id in seen:
            raise EvalError(f"{where}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


# -- running -------------------------------------------------------------------------------------

@dataclass
class CaseRun:
    """One case answered in one mode."""

    case: EvalCase
    mode: str
    answer: Answer
    raw_text: str  # what the generator wrote, before the citation checks
    ranking: list[str]  # article ids, ranked by their best chunk in the fused ranking
    best_dense: float
    served: str | None = None  # llm mode: "cassette" | "scripted" | "live"
    error: str | None = None

    @property
    def refused(self) -> bool:
        return not self.answer.answerable

    @property
    def cited_articles(self) -> list[str]:
        """Each cited source's article, and the wire copies collapsed into it."""
        by_n = {s["n"]: s for s in self.answer.sources}
        out: list[str] = []
        for citation in self.answer.citations:
            out.append(citation.article_id)
            out.extend(c["article_id"] for c in by_n.get(citation.n, {}).get("corroborated_by") or [])
        return list(dict.fromkeys(out))


class CapturingExtractor:
    """Delegates to the real extractor and keeps what it wrote, before any checks."""

    def __init__(self, inner):
        self.inner = inner
        self.last: str | None = None

    def answer(self, question: str, passages: Sequence[Passage]) -> str:
        self.last = self.inner.answer(question, passages)
        return self.last


def prepare_index(components, corpus: Corpus, console=None) -> None:
    """Make the collection hold exactly the corpus: ingest (idempotent, so an unchanged
    article costs nothing) and drop articles that are no longer in it."""
    report = components.ingester.ingest(corpus.articles)
    if report.failed:
        raise EvalError(f"sample corpus failed to ingest: {report.failed[0].message}")
    stored = {a.article_id for a in components.store.iter_articles()}
    for stale in sorted(stored - corpus.ids):
        components.store.delete_article(stale)
    if console is not None and (report.added or report.updated):
        console.print(f"indexed {len(report.added) + len(report.updated)} article(s) into {components.collection!r}")


def build_engine(components, chat=None, *, today: date = EVAL_TODAY):
    from service.answering import AnswerEngine, Extractor

    settings = components.settings
    return AnswerEngine(
        retriever=components.retriever,
        article_texts=components.store.get_article_texts,
        extractor=CapturingExtractor(Extractor(components.embedder)),
        relevance_threshold=settings.relevance_threshold,
        chat=chat,
        prompt=components.prompt if chat else None,
        today=lambda: today,
        default_top_k=settings.top_k,
    )


def replay_chat_model(model: str):
    import openai

    from service.cassettes import REPLAY_BASE_URL
    from service.llm import ChatModel

    client = openai.OpenAI(api_key="replay-needs-no-key", base_url=REPLAY_BASE_URL, max_retries=0, timeout=30.0)
    return ChatModel(client, model)


def live_chat_model(settings, *, base_url: str | None, model: str, store, case_id: Callable[[], str | None]):
    """A chat model at a real endpoint whose completions are written to `store`."""
    import httpx
    import openai

    from service.cassettes import RecordingTransport
    from service.llm import ChatModel

    base_url = base_url or settings.resolved_llm_base_url()
    transport = RecordingTransport(httpx.HTTPTransport(), store, case_id)
    client = openai.OpenAI(
        api_key=settings.resolved_llm_api_key() or "not-needed", base_url=base_url,
        max_retries=settings.llm_max_retries, timeout=settings.llm_timeout_s,
        http_client=httpx.Client(transport=transport, timeout=settings.llm_timeout_s),
    )
    return ChatModel(client, model, settings.llm_temperature), transport


def ranking_for(retriever, case: EvalCase) -> list[str]:
    fused, chunks, _, _ = retriever.search(case.question, case.filters)
    return metrics.document_ranking((cid, chunks[cid].metadata["article_id"]) for cid, _ in fused)


def run_case(engine, case: EvalCase, mode: str, *, replayer=None, recorder=None) -> CaseRun:
    from service.cassettes import Turn

    engine.extractor.last = None
    if recorder is not None:
        recorder.last_content = None
    if replayer is not None:
        replayer.start(Turn(case.id, case.scripted, lambda: engine.last_retrieval.passages,
                            force_script=case.adversarial is not None))
    answer = engine.ask(case.question, case.filters)
    retrieval = engine.last_retrieval
    served = error = None
    raw = answer.answer if not answer.answerable else (engine.extractor.last or "")
    if mode == "llm":
        if replayer is not None and replayer.served:
            served, raw = replayer.served, replayer.content or ""
        elif recorder is not None and recorder.last_content is not None:
            served, raw = "live", recorder.last_content
        if replayer is not None and replayer.error is not None:
            error = replayer.error.message
        elif answer.degraded:
            error = f"the model call failed: {answer.degraded_reason}"
    return CaseRun(case, mode, answer, raw, ranking_for(engine.retriever, case),
                   retrieval.best_dense if retrieval else 0.0, served, error)


@dataclass
class RecordOptions:
    """Where `--record` sends the model calls; the key comes from `settings`."""

    base_url: str | None
    model: str
    settings: Any = field(default=None, repr=False)


def run_mode(components, cases: Sequence[EvalCase], mode: str, *, corpus: Corpus, cassettes: Path,
             model: str = DEFAULT_REPLAY_MODEL, record: RecordOptions | None = None,
             progress: Callable[[str, EvalCase], None] | None = None) -> list[CaseRun]:
    from service.cassettes import CassetteStore, Replayer, replaying

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
              progress: Callable[[str, EvalCase], None] | None = None):
    """Every case in every mode, scored (a `service.scoring.SuiteResult`)."""
    runs = {mode: run_mode(components, cases, mode, corpus=corpus, cassettes=cassettes, model=model,
                           record=record, progress=progress)
            for mode in modes}
    from service.scoring import score

    result = score(runs, corpus.texts)
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
