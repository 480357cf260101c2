"""Timelines: how a story developed, as dated steps, each one cited sentence.

(Not `timeline.py`, which dates the sentences of ordinary answers: "as of" a date, newest
first for "latest".)

    topic -> hybrid search (100 candidates a path) -> one passage per article, kept when it
    names what the topic names and ranks near the best -> wire copies collapsed under the
    original -> per article, the sentence that tells its event (the lede, or the one closest
    to its headline) -> its date (`service.answer.dating`) -> corrections tied to the report
    they correct -> oldest first, each quote verified against its article

`timeline_topic` recognises "how did X develop", "what happened with X" and "timeline of X",
so `/v1/ask` can answer those with a timeline (`timeline_events`).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from service.answer.analysis import analyse
from service.answer.citations import verified_citations
from service.answer.conflicts import corrects, is_correction
from service.answer.dating import event_date, published_day
from service.answer.events import AnswerEvent, DeltaEvent, DoneEvent, SourcesEvent
from service.answer.retrieval import Candidates, HybridRetriever, RetrievalResult
from service.answer.sentences import candidates
from service.answer.shaping import collapse_duplicates
from service.answer.timeline import format_date
from service.models import Answer, ArticleRef, Citation, Filters, Passage, Source, Timeline, TimelineStep
from service.text import tokenize

TIMELINE_PROMPT_ID = "timeline.v1"
_VERBS = r"(?:develop(?:ed)?|unfold(?:ed)?|evolve[d]?|progress(?:ed)?|play(?:ed)? out|come about|go|went)"
_ASKS = (
    re.compile(rf"^\s*how\s+(?:did|has|have|had)\s+(?P<topic>.+?)\s+{_VERBS}\b(?:\s+so far|\s+over time)?\W*$", re.I),
    re.compile(r"^\s*what\s+(?:has\s+)?happened\s+(?:with|to|in|at|over)\s+(?P<topic>.+?)\W*$", re.I),
    re.compile(r"^\s*(?:(?:give|show)\s+me\s+|what\s+is\s+|what's\s+)?(?:a|the)?\s*timeline\s+(?:of|for|on)\s+(?P<topic>.+?)\W*$",
               re.I),
    re.compile(r"^\s*timeline\s*:\s*(?P<topic>.+?)\W*$", re.I),
)
_LEDE_SENTENCES = 8  # an article's event is told in its first few sentences
_FIGURE = r"[$€£]?\d[\d,.]*\d(?:\s?(?:%|percent|billion|million|trillion))?|[$€£]?\d(?:\s?(?:%|percent|billion|million|trillion))?"
# "costs $3, not $5": a correction's headline names the right figure, then the wrong one.
_NOT_X = re.compile(rf"(?P<new>{_FIGURE}),?\s+not\s+(?P<old>{_FIGURE})", re.I)


def timeline_topic(question: str) -> str | None:
    """The story a question asks the development of ("How did the Kestrel Pay outage
    develop?" -> "the Kestrel Pay outage"), or None for any other question."""
    for pattern in _ASKS:
        match = pattern.match(question)
        if match and len(match.group("topic").split()) <= 20:
            return match.group("topic").strip()
    return None


@dataclass(frozen=True)
class _Article:
    """One article's best passage for the topic, with what ranked it."""

    passage: Passage
    score: float  # its best chunk's fused score
    dense: float  # its best chunk's cosine with the topic


@dataclass
class TimelineBuilder:
    retriever: HybridRetriever
    article_texts: Callable[[Sequence[str]], dict[str, str]]
    max_steps: int = 24
    candidates: int = 100  # per path: a running story has more articles than an answer has sources
    # An article is in the story when it names everything the topic names and its best
    # chunk's fused score (weighed z-scores over the candidates) reaches this share of the
    # best article's, and at least `min_score`: a story's articles stand well above the rest.
    relative_score: float = 0.3
    min_score: float = 0.5

    def build(self, topic: str, filters: Filters = Filters()) -> Timeline:
        articles, texts = self._articles(topic, filters)
        steps = [s for a in articles if (s := self._step(topic, a.passage, texts)) is not None]
        steps = _tie_corrections(steps, {a.passage.article_id: a.passage for a in articles})
        steps.sort(key=lambda s: (s.date or "9999", s.citation.published_at or "", s.citation.article_id))
        return Timeline(topic, tuple(steps))

    # -- which articles ---------------------------------------------------------------------

    def _articles(self, topic: str, filters: Filters) -> tuple[list[_Article], dict[str, str]]:
        """The story's articles, best first, and their texts."""
        found = self.retriever.search(topic, filters, n=self.candidates)
        best = _best_per_article(found)
        top = max((a.score for a in best), default=0.0)
        best = [a for a in best if a.score >= max(self.min_score, self.relative_score * top)]
        texts = self.article_texts([a.passage.article_id for a in best])
        named = [set(tokenize(e)) for e in analyse(topic).entities]
        # Every word of every name, in the headline or anywhere in the text: a name only in
        # the lede loses reports that name the story further down ("The 2023 ruling by Salt
        # Basin Water Court ..."), at the price of some that mention it in passing.
        kept = [a for a in best
                if all(words <= set(tokenize(f"{a.passage.title}. {texts.get(a.passage.article_id, '')}")) for words in named)]
        passages = collapse_duplicates([a.passage for a in kept])
        by_id = {a.passage.article_id: a for a in kept}
        return [replace(by_id[p.article_id], passage=p) for p in passages][: self.max_steps], texts

    # -- one step per article ---------------------------------------------------------------

    def _step(self, topic: str, passage: Passage, texts: dict[str, str]) -> TimelineStep | None:
        text = texts.get(passage.article_id)
        if not text:
            return None
        whole = Passage(chunk_ids=passage.chunk_ids, article=passage.article, text=text, char_start=0,
                        char_end=len(text), corroborated_by=passage.corroborated_by)
        sentence = _event_sentence(topic, whole)
        if sentence is None:
            return None
        start, end = sentence
        verified, _ = verified_citations({(1, start, end): 1.0}, [whole], texts)
        if not verified:
            return None
        citation = verified[0]
        published = published_day(passage.published_at)
        # A correction's event is the correction itself: the date it gives is the report's.
        when = None if is_correction(passage) else event_date(citation.quote, published)
        day = when or published
        return TimelineStep(date=day.isoformat() if day else "", dated_by="event" if when else "article",
                            citation=citation, copies=tuple(passage.corroborated_by))


def _best_per_article(found: Candidates) -> list[_Article]:
    """Each article's best-ranked chunk as a passage, best article first."""
    seen: dict[str, _Article] = {}
    for cid, score in found.fused:
        chunk = found.chunks[cid]
        ref = ArticleRef.from_metadata(chunk.metadata)
        dense = found.dense_scores.get(cid, 0.0)
        if ref.article_id in seen:
            if dense > seen[ref.article_id].dense:
                seen[ref.article_id] = replace(seen[ref.article_id], dense=dense)
            continue
        passage = Passage(chunk_ids=[cid], article=ref, text=chunk.text, char_start=int(chunk.metadata["char_start"]),
                          char_end=int(chunk.metadata["char_end"]), score=score, dense_score=dense)
        seen[ref.article_id] = _Article(passage, score, dense)
    return list(seen.values())


def _event_sentence(topic: str, article: Passage) -> tuple[int, int] | None:
    """(start, end) of the sentence that tells the article's event: among its first few
    quotable sentences, the one sharing most words with its headline and the topic, the
    earlier one on a tie (news puts the event in the lede)."""
    found = candidates([article])[:_LEDE_SENTENCES]
    if not found:
        return None
    wanted = set(tokenize(article.title)) | set(tokenize(topic))
    # A correction is told by what it says is right ("$3, not $5": the sentence with $3 and
    # without $5), not by the sentence that repeats the retracted claim.
    fixed = _NOT_X.search(article.title) if is_correction(article) else None

    def score(i: int) -> float:
        words = set(tokenize(found[i].text))
        value = len(words & wanted) / max(len(wanted), 1) + 0.25 * (1 - i / _LEDE_SENTENCES)
        if fixed is not None:
            value += (fixed.group("new") in found[i].text) - (fixed.group("old") in found[i].text)
        return value

    best = found[max(range(len(found)), key=score)]
    return best.start, best.end


def _tie_corrections(steps: list[TimelineStep], passages: dict[str, Passage]) -> list[TimelineStep]:
    """A correction step names the report it corrects (same outlet, published before it)
    and what changed, when its headline says ("$3, not $5" -> "Corrected: $5 → $3")."""
    out = []
    for step in steps:
        fix = passages[step.citation.article_id]
        if is_correction(fix):
            earlier = [passages[s.citation.article_id] for s in steps
                       if corrects(fix, passages[s.citation.article_id])]
            target = max(earlier, key=lambda p: p.published_at or "", default=None)
            step = replace(step, corrects=target.article if target else None, note=correction_note(fix.title))
        out.append(step)
    return out


def correction_note(title: str) -> str | None:
    """'Correction: X costs $3, not $5, per ...' -> 'Corrected: $5 → $3'."""
    match = _NOT_X.search(title)
    return f"Corrected: {match.group('old')} → {match.group('new')}" if match else None


# -- a timeline as an answer (`/v1/ask`) ---------------------------------------------------------

def timeline_answer(timeline: Timeline, request_id: str, timings_ms: dict[str, float]) -> tuple[Answer, RetrievalResult]:
    """The timeline as an `Answer`: one line per step ("October 8, 2024: <quote> [n]"), each
    step's sentence its numbered source, the steps themselves in `answer.timeline`."""
    passages = [Passage(chunk_ids=[], article=_ref(s.citation), text=s.citation.quote, char_start=s.citation.start,
                        char_end=s.citation.end, score=1.0, corroborated_by=list(s.copies)) for s in timeline.steps]
    numbered = [replace(s, citation=replace(s.citation, n=n)) for n, s in enumerate(timeline.steps, start=1)]
    lines = [f"{format_date(s.date) or 'Undated'}: {_line(s)} [{n}]" for n, s in enumerate(numbered, start=1)]
    text = (f"How {timeline.topic} developed, oldest first:\n" + "\n".join(lines)) if lines else ""
    answer = Answer(
        # The engine's refusal text (not imported: the engine may come to call this module).
        answer=text or "Not found in the indexed articles.", answerable=bool(lines), mode="extractive",
        citations=[s.citation for s in numbered], sources=[Source.of(n, p) for n, p in enumerate(passages, start=1)],
        warnings=[], unsupported_sentences=[], prompt_id=TIMELINE_PROMPT_ID, model=None, request_id=request_id,
        timings_ms=timings_ms, timeline=Timeline(timeline.topic, tuple(numbered)) if lines else None,
    )
    return answer, RetrievalResult(passages=passages, best_dense=1.0 if lines else 0.0)


def _line(step: TimelineStep) -> str:
    quote = " ".join(step.citation.quote.split())
    return f"Correction: {quote}" if step.corrects else quote


def _ref(citation: Citation) -> ArticleRef:
    return ArticleRef(citation.article_id, citation.title, citation.outlet, citation.url, citation.published_at)


def timeline_events(builder: TimelineBuilder, topic: str, filters: Filters = Filters(),
                    request_id: str | None = None) -> Iterator[AnswerEvent]:
    """The events `AnswerEngine.stream` yields, for a timeline: sources, the text, done."""
    started = time.perf_counter()
    timeline = builder.build(topic, filters)
    took = round((time.perf_counter() - started) * 1000, 2)
    answer, retrieval = timeline_answer(timeline, request_id or uuid.uuid4().hex,
                                        {"retrieve": took, "generate": 0.0, "total": took})
    yield SourcesEvent(request_id=answer.request_id, sources=answer.sources, retrieval=retrieval)
    yield DeltaEvent(answer.answer)
    yield DoneEvent(answer=answer, retrieval=retrieval)
