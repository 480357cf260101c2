"""The answering core shared by the HTTP API, the Slack bot, the CLI and the evals.

ask(question) -> retrieve -> assess once (`service.answer.assessment`: the question read,
every source sentence scored) -> the gate (`service.answer.gate`, no LLM call: off-topic, or
not answerable by the learned model at the mode's threshold) -> LLM answer (or the extractive
answer when no LLM is configured, or when the LLM is unavailable: then marked degraded) ->
citation checks -> `Answer`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from service.answer.analysis import OutletMention, outlet_mentions
from service.answer.assessment import Assessment, assess
from service.answer.citations import check_answer, says_cannot_answer, strip_markers
from service.answer.conflicts import find_conflicts
from service.answer.events import AnswerEvent, DeltaEvent, DoneEvent, SourcesEvent
from service.answer.extractive import EXTRACTIVE_PROMPT_ID, Extractor
from service.answer.gate import Gate, GateModel, load_gate_model
from service.answer.llm import ChatModel
from service.answer.prompts import Prompt, render_history, render_sources
from service.answer.retrieval import HybridRetriever, RetrievalResult
from service.answer.short_answers import lacks_the_figure, reply_yes_or_no
from service.errors import LLMUnavailableError
from service.models import Answer, Filters, Passage, Source, number_sources
from service.text import sentence_spans

NOT_FOUND = "Not found in the indexed articles."
# Seconds (at most a tenth of the deadline) kept back from the LLM for the extractive fallback.
FALLBACK_RESERVE_S = 1.5


@dataclass(frozen=True)
class Draft:
    """An answer as written, before the citation checks: by the model, by the extractive
    mode, or the refusal."""

    text: str  # the claims: every sentence of it is checked against the sources
    mode: str  # "llm" | "extractive"
    prompt_id: str | None
    model: str | None
    answerable: bool = True  # False: the gate refused, and `text` says so
    degraded_reason: str | None = None  # why the model's answer gave way to the extractive one
    short_answer: str | None = None  # the extractive answer's opening ("Yes", "Google", "$4 billion")
    notes: tuple[str, ...] = ()  # the system's own notes after the claims, never checked as claims

    @property
    def lead(self) -> str:
        if not self.short_answer:
            return ""
        return self.short_answer if self.short_answer.endswith(".") else f"{self.short_answer}."

    @property
    def as_written(self) -> str | None:
        """The extractive text as written, which the evals compare with the checked answer
        (None for model text and refusals)."""
        if self.mode != "extractive" or not self.answerable:
            return None
        return " ".join(x for x in (self.lead, self.text, *self.notes) if x)


@dataclass
class _Request:
    """One answer in the making: what retrieval found, and the timings so far."""

    question: str
    request_id: str
    started: float  # `time.perf_counter()` when it began
    retrieval: RetrievalResult
    sources: list[Source]
    timings: dict[str, float]
    assessment: Assessment | None = None
    mentions: list[OutletMention] | None = None  # the archive outlets the question names

    @property
    def passages(self) -> list[Passage]:
        return self.retrieval.passages


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


@dataclass
class AnswerEngine:
    retriever: HybridRetriever
    article_texts: Callable[[Sequence[str]], dict[str, str]]
    extractor: Extractor
    relevance_threshold: float
    chat: ChatModel | None = None
    prompt: Prompt | None = None
    today: Callable[[], date] = date.today
    default_top_k: int = 8
    # Seconds an answer may take, retrieval to last token; the LLM gets what is left, and
    # when it cannot finish in it the answer is the degraded extractive one. None: no limit.
    deadline_s: float | None = None
    gate_model: GateModel | None = None  # None: the shipped model (service/answer/gate_model.json)

    def __post_init__(self) -> None:
        self.gate = Gate(self.gate_model or load_gate_model(), self.relevance_threshold)

    @property
    def mode(self) -> str:
        return "llm" if self.chat else "extractive"

    def ask(self, question: str, filters: Filters = Filters(), top_k: int | None = None,
            history: Sequence[str] = (), request_id: str | None = None, *, deadline: float | None = None) -> Answer:
        return self.run(question, filters, top_k, history, request_id, deadline=deadline).answer

    def run(self, question: str, filters: Filters = Filters(), top_k: int | None = None,
            history: Sequence[str] = (), request_id: str | None = None, *, deadline: float | None = None) -> DoneEvent:
        """The whole answer at once, with the retrieval and draft behind it."""
        *_, done = self.stream(question, filters, top_k, history, request_id, stream_llm=False, deadline=deadline)
        assert isinstance(done, DoneEvent)
        return done

    def stream(self, question: str, filters: Filters = Filters(), top_k: int | None = None,
               history: Sequence[str] = (), request_id: str | None = None, *,
               stream_llm: bool = True, deadline: float | None = None) -> Iterator[AnswerEvent]:
        """A `SourcesEvent`, then `DeltaEvent`s, then a `DoneEvent`. `deadline` is a
        `time.monotonic()` value; without one, `deadline_s` from now."""
        llm_deadline = self._llm_deadline(deadline)
        request = self._retrieve(question, filters, top_k, history, request_id)
        yield SourcesEvent(request_id=request.request_id, sources=request.sources, retrieval=request.retrieval)
        assessment = request.assessment = self.assess(question, request.retrieval, mentions=request.mentions)
        if self._refuses(assessment):
            yield self._finish(request, self._refusal())
            return
        generating = time.perf_counter()
        if self.chat is None or self.prompt is None:
            draft = self._extractive(assessment)
            yield DeltaEvent(draft.as_written or "")
        else:
            draft = yield from self._generate(self.chat, self.prompt, assessment, history,
                                              stream_llm=stream_llm, deadline=llm_deadline)
        yield self._finish(request, draft, generating)

    def assess(self, question: str, result: RetrievalResult, *,
               mentions: Sequence[OutletMention] | None = None) -> Assessment:
        """The question's one assessment: read once, each source sentence scored once, its
        answerability by the gate's model."""
        started = time.perf_counter()
        a = assess(question, result.passages, chunks=result.chunks, vector=result.vector, best_dense=result.best_dense,
                   outlets_in_archive={} if mentions is not None else self.retriever.lexical.current().outlets(),
                   dense_articles=result.dense_articles, lexical_articles=result.lexical_articles,
                   scorer=self.gate.model, mentions=mentions)
        a.features["assess_ms"] = _ms_since(started)
        return a

    def _llm_deadline(self, deadline: float | None) -> float | None:
        """When the model must stop: early enough for the extractive fallback to finish by
        the answer's deadline (`deadline`, or `deadline_s` from now)."""
        if deadline is None and self.deadline_s is not None:
            deadline = time.monotonic() + self.deadline_s
        if deadline is None:
            return None
        return deadline - min(FALLBACK_RESERVE_S, 0.1 * max(0.0, deadline - time.monotonic()))

    def _retrieve(self, question: str, filters: Filters, top_k: int | None, history: Sequence[str],
                  request_id: str | None) -> _Request:
        started = time.perf_counter()
        query = " ".join([*history[-2:], question]) if history else question
        result, mentions = self.retrieve(question, filters, top_k, query=query)
        return _Request(question, request_id or uuid.uuid4().hex, started, result, number_sources(result.passages),
                        {"retrieve": _ms_since(started)}, mentions=mentions)

    def retrieve(self, question: str, filters: Filters = Filters(), top_k: int | None = None, *,
                 query: str | None = None) -> tuple[RetrievalResult, list[OutletMention]]:
        """The sources for `question` (searched with `query`, the question and its follow-up
        context), with a place for each archive outlet the question names, and those outlets."""
        mentions = outlet_mentions(question, self.retriever.lexical.current().outlets())
        result = self.retriever.retrieve(query or question, filters, top_k or self.default_top_k,
                                         outlets=[m.outlet for m in mentions if m.outlet])
        return result, mentions

    def _refuses(self, a: Assessment) -> bool:
        """The gate, before any model is called: off-topic (no source, or the best dense
        cosine below the threshold), or the model's answerability below the threshold of this
        mode (with an LLM, only what it is nearly sure of: the LLM says the rest)."""
        return self.gate.refuses(a.answerability, a.best_dense, len(a.passages), self.mode)

    def _refusal(self) -> Draft:
        return Draft(NOT_FOUND, self.mode, self._prompt_id(), self._model(), answerable=False)

    def _extractive(self, a: Assessment, degraded_reason: str | None = None) -> Draft:
        written = self.extractor.answer(a)
        if lacks_the_figure(a, written.short):
            return Draft(NOT_FOUND, "extractive", EXTRACTIVE_PROMPT_ID, None, answerable=False,
                         degraded_reason=degraded_reason)
        return Draft(written.claims, "extractive", EXTRACTIVE_PROMPT_ID, None, degraded_reason=degraded_reason,
                     short_answer=written.short, notes=written.notes)

    def _generate(self, chat: ChatModel, prompt: Prompt, a: Assessment, history: Sequence[str], *, stream_llm: bool,
                  deadline: float | None) -> Generator[DeltaEvent, None, Draft]:
        """The model's answer, as it arrives; when the model fails, the extractive answer
        replaces what it sent (degraded)."""
        messages = prompt.render(
            today=self.today().isoformat(),
            sources=render_sources(a.passages),
            question=a.question,
            history=render_history(history),
        )
        parts: list[str] = []
        try:
            if stream_llm:
                for delta in chat.stream(messages, deadline=deadline):
                    parts.append(delta)
                    yield DeltaEvent(delta)
            else:
                parts.append(chat.complete(messages, deadline=deadline))
        except LLMUnavailableError as exc:
            draft = self._extractive(a, degraded_reason=exc.message)
            yield DeltaEvent(draft.as_written or "", replace=True)
            return draft
        return Draft("".join(parts), "llm", prompt.id, chat.model)

    def _finish(self, request: _Request, draft: Draft, generating: float | None = None) -> DoneEvent:
        """The checked answer: markers and quotes checked against the articles, a reply that
        says it cannot answer read as a refusal, the cited sources' disagreements noted."""
        passages = request.passages
        texts = self.article_texts([p.article_id for p in passages]) if passages else {}
        checked = check_answer(draft.text, passages, texts)
        opening = opening_sentence(checked.answer)  # a refusal, and a model's yes or no, are read from it
        answerable = draft.answerable and not says_cannot_answer(opening) and bool(checked.answer)
        request.timings["generate"] = 0.0 if generating is None else _ms_since(generating)
        request.timings["total"] = _ms_since(request.started)
        warnings = checked.warnings
        if draft.degraded_reason:
            warnings = [f"LLM unavailable, answered extractively: {draft.degraded_reason}"] + warnings
        text = " ".join(x for x in (draft.lead, checked.answer, *draft.notes) if x) if checked.answer else ""
        a = request.assessment
        # A model's reply already opens with its yes or no (the prompt asks it to); it is read,
        # not led with again.
        short = draft.short_answer if draft.mode == "extractive" else \
            reply_yes_or_no(bool(a and a.analysis.polar), opening)
        answer = Answer(
            answer=text or NOT_FOUND,
            answerable=answerable,
            mode=draft.mode,
            citations=checked.citations if answerable else [],
            sources=request.sources,
            warnings=warnings,
            unsupported_sentences=checked.unsupported_sentences if answerable else [],
            prompt_id=draft.prompt_id,
            model=draft.model,
            request_id=request.request_id,
            timings_ms=request.timings,
            degraded=draft.degraded_reason is not None,
            degraded_reason=draft.degraded_reason,
            conflicts=(find_conflicts(a.analysis if a else request.question, [(c.n, c.quote) for c in checked.citations],
                                      passages, {s.text: s.evidence for s in a.sentences} if a else None)
                       if answerable else []),
            short_answer=short if answerable else None,
            answerability=round(a.answerability, 4) if a else None,
        )
        return DoneEvent(answer=answer, retrieval=request.retrieval, draft=draft.as_written, assessment=a)

    def _prompt_id(self) -> str:
        return self.prompt.id if self.chat and self.prompt else EXTRACTIVE_PROMPT_ID

    def _model(self) -> str | None:
        return self.chat.model if self.chat else None


def opening_sentence(text: str) -> str:
    """The answer's first sentence without markers: a refusal is judged on how it opens,
    so an answer that merely mentions a gap later on still counts as an answer."""
    spans = sentence_spans(text)
    return strip_markers(text[spans[0][0]:spans[0][1]]) if spans else ""
