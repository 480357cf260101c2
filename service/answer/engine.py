"""The answering core shared by the HTTP API, the Slack bot, the CLI and the evals.

ask(question) -> retrieve -> refuse below the relevance threshold, or when no retrieved
sentence holds what the question asks (`service.answer.answerability`; no LLM call) ->
LLM answer (or the extractive answer when no LLM is configured, or when the LLM is
unavailable: then marked degraded) -> citation checks -> `Answer`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from service.answer.citations import check_answer, says_cannot_answer, strip_markers
from service.answer.conflicts import find_conflicts
from service.answer.events import AnswerEvent, DeltaEvent, DoneEvent, SourcesEvent
from service.answer.extractive import EXTRACTIVE_PROMPT_ID, Extractor
from service.answer.llm import ChatModel
from service.answer.prompts import Prompt, render_history, render_sources
from service.answer.retrieval import HybridRetriever
from service.errors import LLMUnavailableError
from service.models import Answer, Filters, number_sources
from service.text import sentence_spans

NOT_FOUND = "Not found in the indexed articles."
# Seconds (at most a tenth of the deadline) kept back from the LLM for the extractive fallback.
FALLBACK_RESERVE_S = 1.5


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
        if deadline is None and self.deadline_s is not None:
            deadline = time.monotonic() + self.deadline_s
        # The model must stop early enough for the extractive fallback to finish in time.
        llm_deadline = None if deadline is None else deadline - min(
            FALLBACK_RESERVE_S, 0.1 * max(0.0, deadline - time.monotonic()))
        started = time.perf_counter()
        request_id = request_id or uuid.uuid4().hex
        query = " ".join([*history[-2:], question]) if history else question
        result = self.retriever.retrieve(query, filters, top_k or self.default_top_k)
        timings = {"retrieve": round((time.perf_counter() - started) * 1000, 2)}
        passages = result.passages
        sources = number_sources(passages)
        yield SourcesEvent(request_id=request_id, sources=sources, retrieval=result)

        def finish(text: str, *, answerable: bool, mode: str, prompt_id: str | None, model: str | None,
                   degraded_reason: str | None = None, gen_started: float | None = None,
                   draft: str | None = None) -> DoneEvent:
            texts = self.article_texts([p.article_id for p in passages]) if passages else {}
            checked = check_answer(text, passages, texts)
            answerable = answerable and not says_cannot_answer(opening_sentence(checked.answer)) and bool(checked.answer)
            timings["generate"] = round((time.perf_counter() - (gen_started or time.perf_counter())) * 1000, 2)
            timings["total"] = round((time.perf_counter() - started) * 1000, 2)
            warnings = checked.warnings
            if degraded_reason:
                warnings = [f"LLM unavailable, answered extractively: {degraded_reason}"] + warnings
            answer = Answer(
                answer=checked.answer or NOT_FOUND,
                answerable=answerable,
                mode=mode,
                citations=checked.citations if answerable else [],
                sources=sources,
                warnings=warnings,
                unsupported_sentences=checked.unsupported_sentences if answerable else [],
                prompt_id=prompt_id,
                model=model,
                request_id=request_id,
                timings_ms=timings,
                degraded=degraded_reason is not None,
                degraded_reason=degraded_reason,
                conflicts=(find_conflicts(question, [(c.n, c.quote) for c in checked.citations], passages)
                           if answerable else []),
            )
            return DoneEvent(answer=answer, retrieval=result, draft=draft)

        # The answerability gate, before any model is called: off-topic (best dense cosine
        # below the threshold), or on-topic with no sentence that holds what is asked.
        if (not passages or result.best_dense < self.relevance_threshold
                or not self.extractor.answerable(question, passages)):
            timings["generate"] = 0.0
            yield finish(NOT_FOUND, answerable=False, mode=self.mode, prompt_id=self._prompt_id(), model=self._model())
            return

        gen_started = time.perf_counter()
        if self.chat is None or self.prompt is None:
            text = self.extractor.answer(question, passages)
            yield DeltaEvent(text)
            yield finish(text, answerable=True, mode="extractive", prompt_id=EXTRACTIVE_PROMPT_ID, model=None,
                         gen_started=gen_started, draft=text)
            return

        messages = self.prompt.render(
            today=self.today().isoformat(),
            sources=render_sources(passages),
            question=question,
            history=render_history(history),
        )
        parts: list[str] = []
        try:
            if stream_llm:
                for delta in self.chat.stream(messages, deadline=llm_deadline):
                    parts.append(delta)
                    yield DeltaEvent(delta)
            else:
                parts.append(self.chat.complete(messages, deadline=llm_deadline))
        except LLMUnavailableError as exc:
            text = self.extractor.answer(question, passages)
            yield DeltaEvent(text, replace=True)
            yield finish(text, answerable=True, mode="extractive", prompt_id=EXTRACTIVE_PROMPT_ID, model=None,
                         degraded_reason=exc.message, gen_started=gen_started, draft=text)
            return
        yield finish("".join(parts), answerable=True, mode="llm", prompt_id=self.prompt.id, model=self.chat.model, gen_started=gen_started)

    def _prompt_id(self) -> str:
        return self.prompt.id if self.chat and self.prompt else EXTRACTIVE_PROMPT_ID

    def _model(self) -> str | None:
        return self.chat.model if self.chat else None


def opening_sentence(text: str) -> str:
    """The answer's first sentence without markers: a refusal is judged on how it opens,
    so an answer that merely mentions a gap later on still counts as an answer."""
    spans = sentence_spans(text)
    return strip_markers(text[spans[0][0]:spans[0][1]]) if spans else ""
