"""Evals that can fail: scripted answers with one planted flaw each, run through the same
citation checks and scored by the same metrics as every other answer. The report states
the share of planted flaws the metrics catch, and how often the same detector fires on
the unmutated answer (a detector that always fires would catch everything).

A mutation (`evals/mutations/*.jsonl`) names a case, a flaw and, where the flaw needs
one, its text. It is applied to that case's LLM-replay run: the answer the replayed model
gave, against the sources retrieval returned.

    wrong_citation        the first [n] points at another retrieved source
    fabricated_quote      a quotation the cited source does not contain
    uncited_claim         a claim with no citation
    obeys_injection       the claim an injected instruction asked for
    misses_conflict       an answer that gives one side of a disagreement (text given)
    answers_unanswerable  an answer to a question the archive cannot answer (text given)
    cites_reprint_only    the reprint shown and cited in place of the original wire
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from service.errors import EvalError
from service.evals import metrics
from service.evals.cases import CaseRun, Corpus
from service.evals.cassettes import SCRIPTED_MARKER, render_scripted
from service.evals.jsonl import read_jsonl
from service.models import Answer, Passage, Source

FLAWS = ("wrong_citation", "fabricated_quote", "uncited_claim", "obeys_injection", "misses_conflict",
         "answers_unanswerable", "cites_reprint_only")
_NEEDS_TEXT = {"fabricated_quote", "uncited_claim", "obeys_injection", "misses_conflict", "answers_unanswerable"}


@dataclass(frozen=True)
class Mutation:
    id: str
    case: str
    flaw: str
    text: str = ""


def load_mutations(path: Path, case_ids: set[str]) -> list[Mutation]:
    out: list[Mutation] = []
    for where, record in read_jsonl(path):
        try:
            mutation = Mutation(record["id"], record["case"], record["flaw"], record.get("text") or "")
        except (KeyError, TypeError) as exc:
            raise EvalError(f"{where}: a mutation needs id, case and flaw ({exc})") from None
        if mutation.flaw not in FLAWS:
            raise EvalError(f"{where}: unknown flaw {mutation.flaw!r} (known: {', '.join(FLAWS)})")
        if mutation.case not in case_ids:
            raise EvalError(f"{where}: no case {mutation.case!r}")
        if mutation.flaw in _NEEDS_TEXT and not mutation.text:
            raise EvalError(f"{where}: flaw {mutation.flaw} needs `text`")
        out.append(mutation)
    return out


def passages_of(run: CaseRun) -> list[Passage]:
    """The numbered sources of a run, as the citation checks saw them."""
    return [Passage([], s.article, s.text, s.start, s.end, corroborated_by=list(s.corroborated_by))
            for s in run.answer.sources]


def mutate(run: CaseRun, mutation: Mutation, corpus: Corpus) -> CaseRun:
    """The run with the flaw planted in its answer, checked again by `check_answer`."""
    from service.answer.citations import check_answer

    passages = passages_of(run)
    texts = corpus.texts
    text = run.raw_text if run.answer.answerable else ""
    first = re.search(r"\[(\d+)\]", text)
    cited = int(first.group(1)) if first else 1
    sources = run.answer.sources
    if mutation.flaw == "wrong_citation" and first:
        wrong = next((s.n for s in sources if s.article_id not in run.case.expected_sources), None)
        wrong = wrong or next((s.n for s in sources if s.n != cited), cited + 1)
        text = text[:first.start()] + f"[{wrong}]" + text[first.end():]
    elif mutation.flaw == "fabricated_quote":
        text = f'{text} It wrote that "{mutation.text}" [{cited}].'
    elif mutation.flaw in ("uncited_claim", "obeys_injection"):
        text = f"{text} {mutation.text}"
    elif mutation.flaw in ("misses_conflict", "answers_unanswerable"):
        script = SCRIPTED_MARKER.sub(lambda m: f"[@{corpus.resolve(m.group(1))}]", mutation.text)
        text = render_scripted(script, passages, corpus.ids)
    checked = check_answer(text, passages, texts)
    answer = replace(run.answer, answer=checked.answer, answerable=True, citations=checked.citations,
                     warnings=checked.warnings, unsupported_sentences=checked.unsupported_sentences)
    if mutation.flaw == "cites_reprint_only":
        answer = _reprint_shown(answer)
    return replace(run, answer=answer, raw_text=text, served="mutation")


def _reprint_shown(answer: Answer) -> Answer:
    """The collapsed source shown as its latest copy, which the citation then names."""
    sources: list[Source] = []
    swapped: dict[int, Source] = {}
    for s in answer.sources:
        copies = sorted(s.corroborated_by, key=lambda c: c.published_at or "")
        if copies and s.n not in swapped:
            reprint = copies[-1]
            s = replace(s, article=reprint, corroborated_by=(s.article, *(c for c in s.corroborated_by if c is not reprint)))
            swapped[s.n] = s
        sources.append(s)
    citations = [replace(c, article_id=swapped[c.n].article_id, outlet=swapped[c.n].outlet,
                         published_at=swapped[c.n].published_at) if c.n in swapped else c
                 for c in answer.citations]
    return replace(answer, sources=sources, citations=citations)


def cites_a_reprint(run: CaseRun) -> bool:
    """Does a citation name a copy while an earlier copy of the same text is collapsed into it?"""
    by_n = {s.n: s for s in run.answer.sources}
    for c in run.answer.citations:
        source = by_n.get(c.n)
        for copy in source.corroborated_by if source else ():
            if copy.published_at and c.published_at and copy.published_at < c.published_at:
                return True
    return False


def flaw_detected(run: CaseRun, flaw: str) -> bool:
    """Whether the eval's checks and metrics report this kind of flaw in `run`."""
    answer, case = run.answer, run.case
    warnings = " ".join(answer.warnings)
    if flaw == "wrong_citation":
        cited = set(run.cited_articles)
        return ("barely supports" in warnings or "does not match any source" in warnings
                or bool(cited - set(case.expected_sources)) or not set(case.expected_sources) <= cited)
    if flaw == "fabricated_quote":
        return "quoted text not found" in warnings
    if flaw == "uncited_claim":
        return bool(answer.unsupported_sentences)
    if flaw == "obeys_injection":
        return "instructions to the model" in warnings.replace("contains text that reads as instructions to the model", "") \
            or bool(answer.unsupported_sentences)
    if flaw == "misses_conflict":
        return case.must_mention_conflict and not metrics.mentions_conflict(answer.answer)
    if flaw == "answers_unanswerable":
        return case.must_refuse and answer.answerable
    if flaw == "cites_reprint_only":
        return cites_a_reprint(run)
    raise EvalError(f"unknown flaw {flaw!r}")


@dataclass
class MutationResult:
    mutation: Mutation
    caught: bool
    control_flagged: bool  # the same detector on the unmutated answer


def run_mutations(llm_runs: Sequence[CaseRun], mutations: Sequence[Mutation], corpus: Corpus) -> list[MutationResult]:
    by_case = {r.case.id: r for r in llm_runs}
    results = []
    for m in mutations:
        clean = by_case.get(m.case)
        if clean is None:
            raise EvalError(f"mutation {m.id}: case {m.case!r} was not run in LLM mode")
        results.append(MutationResult(m, flaw_detected(mutate(clean, m, corpus), m.flaw), flaw_detected(clean, m.flaw)))
    return results


def summary(results: Sequence[MutationResult]) -> dict[str, float | None]:
    if not results:
        return {}
    return {
        "mutations.caught": sum(r.caught for r in results) / len(results),
        "mutations.control_flagged": sum(r.control_flagged for r in results) / len(results),
    }
