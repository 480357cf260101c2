"""The answer without an LLM: the retrieved sentences that answer the question, cited the
same way an LLM answer is, with notes where the sources disagree, correct one another,
or leave out something the question names.

No sentence is embedded at question time: sentences are scored by what they hold for
this question (`service.answer.answerability`) and by their source's fused rank, which
already combines the dense and lexical retrievers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.answer import answerability, conflicts, timeline
from service.answer.sentences import Candidate, candidates
from service.models import Passage
from service.text import tokenize

EXTRACTIVE_PROMPT_ID = "extractive.v2"
TOP_SENTENCES = 12  # the most relevant retrieved sentences, where names are compared with other spellings


@dataclass
class Extractor:
    """Up to `max_sentences` by maximal marginal relevance (so not three copies of one
    fact), plus one sentence for each named thing the others leave out."""

    max_sentences: int = 3
    diversity: float = 0.35  # weight of redundancy against relevance in MMR
    rank_weight: float = 0.35  # weight of the source's fused rank against the sentence's own evidence
    cutoff: float = 0.75  # a sentence scoring below this share of the best one is left out

    def answerable(self, question: str, passages: Sequence[Passage]) -> bool:
        """Does any retrieved sentence hold what the question asks for?"""
        return answerability.answerable(question, [(c.text, c.context, c.outlet) for c in candidates(passages)],
                                        [(p.text, p.title, p.outlet or "") for p in passages])

    def answer(self, question: str, passages: Sequence[Passage]) -> str:
        found = candidates(passages)
        if not found:
            return ""
        q = answerability.analyse(question)
        relevance = self._relevance(q, found)
        chosen = self._select(found, relevance)
        for clause in answerability.clauses(question)[1:]:  # "..., and when is it expected to restart?"
            scores = self._relevance(answerability.analyse(clause), found)
            best = max(range(len(found)), key=lambda i: scores[i])
            if best not in chosen:
                chosen.append(best)
        top = sorted(range(len(found)), key=lambda i: -relevance[i])[:TOP_SENTENCES]  # where other spellings are looked for
        outlets = _named_outlets(question, passages)
        chosen, missing = _cover_named(q, outlets, found, relevance, chosen, passages)
        dated = (q.temporal or q.recency or len(outlets) > 1
                 or any(answerability.analyse(c).kind == "date" for c in answerability.clauses(question)[1:]))
        if dated:  # each side's dated sentence, oldest first
            chosen.sort(key=lambda i: (found[i].published or "9999", i))
        chosen += _originals_of_corrections(chosen, found, relevance, passages)
        picked = [found[i] for i in chosen]
        parts = []
        for c in picked:
            sentence = cite(c.text, c.n)
            if dated or timeline.speaks_of_now(c.text):  # an old "latest" is dated, not repeated as today's
                sentence = timeline.dated(sentence, passages[c.n - 1].outlet, c.published)
            parts.append(sentence)
        notes = [
            conflicts.correction_note(picked, passages),
            conflicts.figure_disagreement([(c.n, c.text) for c in picked
                                           if answerability.evidence(q, c.text, c.context, c.outlet).answers], passages),
            conflicts.naming_conflict([found[i] for i in top], picked),
            _wire_note(picked, passages),
        ]
        if missing:
            notes.append("There is no information about " + ", ".join(missing) + " in the retrieved articles.")
        lead = []
        newest = max((c.published for c in picked), default="")
        if q.recency and newest:
            lead = [f"As of {timeline.format_date(newest)}, the newest article that speaks to this:"]
        return " ".join(lead + parts + [n for n in notes if n])

    def _relevance(self, q: answerability.QuestionAnalysis, found: Sequence[Candidate]) -> list[float]:
        """The sentence's own evidence (question words weighted by how rare they are among
        the candidates, named things, the answer type) and its source's fused rank."""
        words = [set(tokenize(c.text)) for c in found]
        terms = set(tokenize(q.text)) - answerability.QUESTION_STEMS
        idf = {t: math.log(1 + len(found) / (1 + sum(t in w for w in words))) for t in terms}
        total = sum(idf.values()) or 1.0
        dates = timeline.date_weights([c.published for c in found])
        periods = timeline.mentioned_periods(q.text)
        scores = []
        for c, w, recency in zip(found, words, dates, strict=True):
            ev = answerability.evidence(q, c.text, c.context, c.outlet)
            lexical = sum(idf[t] for t in terms & w) / total
            typed = 0.35 if q.kind != "open" else 0.15  # a count, name or date is what was asked for
            own = (0.8 - typed) * lexical + 0.2 * ev.entities + typed * (ev.typed and ev.focused)
            prior = 1.0 / (1 + 0.3 * (c.n - 1))
            score = (1 - self.rank_weight) * own + self.rank_weight * prior
            if q.recency:
                score += 0.25 * recency
            if any(c.published.startswith(p) for p in periods):  # "in October 2024": the articles of then
                score += 0.15
            scores.append(score)
        return scores

    def _select(self, found: Sequence[Candidate], relevance: list[float]) -> list[int]:
        chosen: list[int] = []
        while len(chosen) < min(self.max_sentences, len(found)):
            best, best_score = -1, float("-inf")
            for i, c in enumerate(found):
                if i in chosen:
                    continue
                redundancy = max((conflicts.similarity(c.text, found[j].text) for j in chosen), default=0.0)
                score = (1 - self.diversity) * relevance[i] - self.diversity * redundancy if chosen else relevance[i]
                if score > best_score:
                    best, best_score = i, score
            if chosen and relevance[best] < self.cutoff * relevance[chosen[0]]:
                break  # much weaker than the best sentence: leave it out
            chosen.append(best)
        return chosen


def _named_outlets(question: str, passages: Sequence[Passage]) -> list[str]:
    lowered = question.lower()
    names = {o for p in passages for o in (p.outlet, *(c.outlet for c in p.corroborated_by)) if o}
    return sorted(n for n in names if n.lower() in lowered)


def _cover_named(q: answerability.QuestionAnalysis, outlets: list[str], found: Sequence[Candidate], relevance: list[float],
                 chosen: list[int], passages: Sequence[Passage]) -> tuple[list[int], list[str]]:
    """A sentence for each named thing or outlet when the question names several; the ones
    no retrieved sentence speaks to are returned as missing."""
    chosen = list(chosen)
    missing: list[str] = []
    named = [e for e in q.entities if not any(e.lower() in o.lower() for o in outlets)]
    if len(named) + len(outlets) < 2:
        return chosen, missing

    def covers(i: int, thing: str, outlet: bool) -> bool:
        c = found[i]
        if outlet:
            p = passages[c.n - 1]
            return p.outlet == thing or any(x.outlet == thing for x in p.corroborated_by)
        return answerability.entity_found(thing, c.text) or answerability.entity_found(thing, c.context)

    for thing, outlet in [(o, True) for o in outlets] + [(e, False) for e in named]:
        if any(covers(i, thing, outlet) for i in chosen):
            continue
        options = [i for i in range(len(found)) if covers(i, thing, outlet)]
        if options:
            chosen.append(max(options, key=lambda i: relevance[i]))
        else:
            missing.append(thing)
    return chosen, missing


def _originals_of_corrections(chosen: list[int], found: Sequence[Candidate], relevance: list[float],
                              passages: Sequence[Passage]) -> list[int]:
    """For a chosen sentence from a correction notice, the best sentence of the earlier
    report it corrects (same outlet, older), so the answer can cite both."""
    extra: list[int] = []
    for i in list(chosen):
        fix = passages[found[i].n - 1]
        if not conflicts.is_correction(fix):
            continue
        originals = [j for j, c in enumerate(found)
                     if j not in chosen and j not in extra and conflicts.corrects(fix, passages[c.n - 1])]
        if originals and not any(conflicts.corrects(fix, passages[found[j].n - 1]) for j in chosen + extra):
            extra.append(max(originals, key=lambda j: relevance[j]))
    return extra


def _wire_note(picked: Sequence[Candidate], passages: Sequence[Passage]) -> str:
    """Who else carried a cited wire story: the original is the source, reprints corroborate it."""
    for n in dict.fromkeys(c.n for c in picked):
        p = passages[n - 1]
        copies = [(c.outlet, c.published_at) for c in p.corroborated_by if c.outlet]
        if copies:
            also = "; ".join(outlet + (f" ({timeline.format_date(date)})" if date else "") for outlet, date in copies)
            when = timeline.format_date(p.published_at or "")
            return (f"Source [{n}] is the original, published by {p.outlet or 'its outlet'}"
                    f"{' on ' + when if when else ''}; the same text was also carried by {also}.")
    return ""


def cite(sentence: str, n: int) -> str:
    """'Claim.' -> 'Claim [n].': the marker goes inside the sentence it supports."""
    body = sentence.rstrip()
    if body and body[-1] in ".!?":
        return f"{body[:-1]} [{n}]{body[-1]}"
    return f"{body} [{n}]"
