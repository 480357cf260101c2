"""The answer without an LLM: the retrieved sentences that answer the question, each quoted
once and cited the same way an LLM answer is, led by a short answer when the sentences
determine one, with notes where the sources disagree, correct one another, or leave out
something the question names.

Sentences come ranked from the question's assessment (`service.answer.assessment`: the
gate's sentence model, from stored sentence vectors and what each sentence holds for the
question); nothing is embedded at question time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from service.answer import conflicts, timeline
from service.answer.analysis import mention_starts
from service.answer.assessment import AssessedSentence, Assessment
from service.answer.evidence import entity_found, evidence
from service.answer.short_answers import short_answer
from service.models import Passage
from service.text import tokenize

EXTRACTIVE_PROMPT_ID = "extractive.v3"
TOP_SENTENCES = 12  # the most relevant retrieved sentences, where names are compared with other spellings
# The weight of a sentence's share of its outlet's part of the question (`_own_part_held`)
# in its relevance, when the question names two or more outlets. Set on MultiHop-RAG's
# development half: cited articles that are evidence 0.858 at 0.3, 0.856 at 0.6 and 1.0
# (with `_as_many_articles_as_named`); 0.6 loses one more name answer. The held-out news
# sets' figures are in docs/evals.md.
OWN_PART_WEIGHT = 0.3


@dataclass(frozen=True)
class ExtractiveDraft:
    """What the extractive mode writes: the short answer, the cited sentences (the claims,
    checked against the sources) and the system's own notes (never checked as claims)."""

    short: str | None
    claims: str
    notes: tuple[str, ...] = ()

    @property
    def lead(self) -> str:
        return f"{self.short}." if self.short and not self.short.endswith(".") else (self.short or "")


@dataclass
class Extractor:
    """Up to `max_sentences` by maximal marginal relevance (so not three copies of one fact),
    plus one sentence for each named thing or outlet the others leave out, from no more of
    an outlet's articles than the question names it."""

    max_sentences: int = 3
    diversity: float = 0.35  # weight of redundancy against relevance in MMR
    cutoff: float = 0.75  # a sentence scoring below this share of the best one is left out
    # The sentence model's share of a sentence's relevance. Half: MultiHop's cited articles
    # that are evidence 0.82 against 0.75 with none; the blind news set's fact coverage 0.64
    # against 0.66; the eval cases, whose expected facts the evidence weights were set on,
    # 0.72 against 0.81 (docs/evals.md).
    learned_weight: float = 0.5

    def answer(self, a: Assessment) -> ExtractiveDraft:
        if not a.sentences:
            return ExtractiveDraft(None, "")
        relevance = self._relevance(a)
        usable = [i for i in range(len(a.sentences)) if _about_the_subject(a, a.sentences[i])]
        chosen = self._select(a, relevance, usable or list(range(len(a.sentences))))
        chosen = _each_clause(a, chosen, usable)
        chosen, missing = _cover_named(a, relevance, chosen)
        chosen = _as_many_articles_as_named(a, chosen, relevance)
        corrections = _originals_of_corrections(a, chosen, relevance)
        dated = a.analysis.temporal or a.analysis.recency or len(a.outlets) > 1
        if dated:  # each side's dated sentence, oldest first
            chosen.sort(key=lambda i: (a.sentences[i].candidate.published or "9999", i))
        chosen = _corrections_first(a, chosen + corrections)
        picked = [a.sentences[i] for i in chosen]
        claims = " ".join(_quote(s, a.passages, dated) for s in picked)
        notes = _notes(a, picked, [a.sentences[i] for i in sorted(range(len(a.sentences)),
                                                                  key=lambda i: -relevance[i])[:TOP_SENTENCES]], missing)
        lead = [f"As of {timeline.format_date(newest)}, the newest article that speaks to this:"] \
            if a.analysis.recency and (newest := max((s.candidate.published for s in picked), default="")) else []
        short = short_answer(a, picked, missing)
        return ExtractiveDraft(short, " ".join(lead + [claims]), tuple(notes))

    def _relevance(self, a: Assessment) -> list[float]:
        """The sentence model's score blended with the sentence's own evidence (each relative
        to the question's best sentence), raised for the newest articles when the question
        asks about now, and for the articles of a period the question names ("in October
        2024")."""
        dates = timeline.date_weights([s.candidate.published for s in a.sentences])
        periods = timeline.mentioned_periods(a.question)
        # Square roots: the model's probabilities are peaked (0.3 against 0.03), which would
        # leave every sentence but the first under the cutoff.
        learned = [v ** 0.5 for v in _relative([s.score for s in a.sentences])]
        own = _relative([evidence_score(s, a.analysis.kind != "open") for s in a.sentences])
        # A count, an amount, a date or a person asked for: the sentence that holds one on the
        # question's focus answers, which the sentence's own evidence reads and the model
        # barely weighs; the model's share is for open and "which" questions.
        weight = 0.0 if a.analysis.kind in ("count", "money", "date", "person") else self.learned_weight
        held = _own_part_held(a)
        out = []
        for s, recency, mine, theirs, part in zip(a.sentences, dates, learned, own, held, strict=True):
            score = weight * mine + (1 - weight) * theirs + OWN_PART_WEIGHT * part
            if a.analysis.recency:
                score += 0.25 * recency
            if any(s.candidate.published.startswith(p) for p in periods):
                score += 0.15
            out.append(score)
        return out

    def _select(self, a: Assessment, relevance: list[float], usable: list[int]) -> list[int]:
        chosen: list[int] = []
        while len(chosen) < min(self.max_sentences, len(usable)):
            best, best_score = -1, float("-inf")
            for i in usable:
                if i in chosen:
                    continue
                redundancy = max((conflicts.similarity(a.sentences[i].text, a.sentences[j].text) for j in chosen),
                                 default=0.0)
                score = (1 - self.diversity) * relevance[i] - self.diversity * redundancy if chosen else relevance[i]
                if score > best_score:
                    best, best_score = i, score
            if chosen and relevance[best] < self.cutoff * relevance[chosen[0]]:
                break  # much weaker than the best sentence: leave it out
            chosen.append(best)
        return chosen


def _own_part_held(a: Assessment) -> list[float]:
    """For a question that names two or more outlets, the share of its own outlet's part of
    the question each sentence holds (in its words or its article's title): "X, as reported
    by A, and Y according to B" wants A's sentence on X, not A's sentence on Y. A mention's
    part runs from the mention before it to the one after; outlets named together ("How do
    A and B differ on X?") share theirs. 0 for every sentence of any other question."""
    named = [m for m in a.outlets if m.outlet]
    if len(named) < 2:
        return [0.0] * len(a.sentences)
    starts = mention_starts(a.question, a.outlets)
    ends = [start + len(m.phrase) for start, m in zip(starts, a.outlets, strict=True)]
    outlet_words = set(tokenize(" ".join(m.phrase for m in a.outlets)))
    # a gap with no word of its own between two mentions joins them
    joined = [not tokenize(a.question[ends[k]:starts[k + 1]]) for k in range(len(starts) - 1)]
    parts: dict[str, set[str]] = {}
    for i, m in enumerate(a.outlets):
        if not m.outlet:
            continue
        left, right = i, i
        while left > 0 and joined[left - 1]:
            left -= 1
        while right < len(joined) and joined[right]:
            right += 1
        begin = ends[left - 1] if left > 0 else 0
        end = starts[right + 1] if right + 1 < len(starts) else len(a.question)
        parts.setdefault(m.outlet, set()).update(set(tokenize(a.question[begin:end])) - outlet_words)
    titles: dict[int, frozenset[str]] = {}  # each source's title words, read once
    out = []
    for s in a.sentences:
        p = a.passages[s.n - 1]
        words = parts.get(p.outlet or "")
        if not words:
            out.append(0.0)
            continue
        title = titles.get(s.n)
        if title is None:  # setdefault would tokenize the title for every sentence
            title = titles[s.n] = frozenset(tokenize(p.title))
        out.append(len(words & (s.words | title)) / len(words))
    return out


def _relative(values: Sequence[float]) -> list[float]:
    top = max(values, default=0.0)
    return [v / top if top > 0 else 0.0 for v in values]


def evidence_score(s: AssessedSentence, factoid: bool) -> float:
    """What the sentence holds for the question by itself: the question's rarer words, its
    named things, the answer type on its focus (weighed more when a count, amount, name or
    date is asked for), and its source's rank."""
    f = s.features
    typed = 0.35 if factoid else 0.15
    own = (0.8 - typed) * f["lex"] + 0.2 * f["ent"] + typed * (f["typed"] * f["focused"])
    prior = 1.0 / (1 + 0.3 * (s.n - 1))
    return 0.65 * own + 0.35 * prior


def _about_the_subject(a: Assessment, s: AssessedSentence) -> bool:
    """A count or an amount is answered only from sentences about the question's named things,
    each named whole (in the sentence, the one before, or its article's title): the cost of
    the bridge downstream, or its correction, is no answer about this one."""
    q = a.analysis
    if q.kind not in ("count", "money") or not q.entities:
        return True
    where = f"{s.text} {s.candidate.context} {s.candidate.outlet}"
    return all(entity_found(e, where, whole=True) for e in q.entities)


def _each_clause(a: Assessment, chosen: list[int], usable: list[int]) -> list[int]:
    """The best sentence for each further part of the question ("..., and when ...?")."""
    out = list(chosen)
    for part in a.clauses[1:]:
        pool = usable or list(range(len(a.sentences)))
        best = max(pool, key=lambda i: (evidence(part, a.sentences[i].text, a.sentences[i].candidate.context).answers,
                                        a.sentences[i].score))
        if best not in out:
            out.append(best)
    return out


def _cover_named(a: Assessment, relevance: list[float], chosen: list[int]) -> tuple[list[int], list[str]]:
    """A sentence for each named thing or outlet when the question names several; those no
    retrieved sentence speaks to are returned as missing."""
    chosen = list(chosen)
    # The archive's outlets only: a phrase that merely reads like one ("the Microsoft–OpenAI
    # article") is no side the archive lacks.
    outlets = list(dict.fromkeys(m.outlet for m in a.outlets if m.outlet))
    named = [e for e in a.analysis.entities if not any(e.lower() in o.lower() for o in outlets)]
    if len(named) + len(outlets) < 2:
        return chosen, []
    missing: list[str] = []

    def covers(i: int, thing: str, outlet: bool) -> bool:
        s = a.sentences[i]
        if outlet:
            p = a.passages[s.n - 1]
            return p.outlet == thing or any(x.outlet == thing for x in p.corroborated_by)
        return entity_found(thing, s.text) or entity_found(thing, s.candidate.context)

    for thing, outlet in [(o, True) for o in outlets] + [(e, False) for e in named]:
        if any(covers(i, thing, outlet) for i in chosen):
            continue
        options = [i for i in range(len(a.sentences)) if covers(i, thing, outlet)]
        if options:
            chosen.append(max(options, key=lambda i: relevance[i]))
        else:
            missing.append(thing)
    return chosen, missing


def _as_many_articles_as_named(a: Assessment, chosen: list[int], relevance: list[float]) -> list[int]:
    """When the question names outlets, sentences from at most as many of an outlet's articles
    as the times it names that outlet ("TechCrunch reported X, and another TechCrunch
    article Y": two), the most relevant kept. The question says which reports it draws on;
    a further article of the same outlet is another story near them. Outlets it does not
    name are left as they are."""
    named = Counter(m.outlet for m in a.outlets if m.outlet)
    if not named:
        return chosen
    articles: dict[str, list[str]] = {}
    dropped = set()
    for i in sorted(chosen, key=lambda i: -relevance[i]):
        p = a.passages[a.sentences[i].n - 1]
        outlet = p.outlet or ""
        if outlet not in named:
            continue
        kept = articles.setdefault(outlet, [])
        if p.article_id not in kept:
            if len(kept) >= named[outlet]:
                dropped.add(i)
                continue
            kept.append(p.article_id)
    return [i for i in chosen if i not in dropped]


def _originals_of_corrections(a: Assessment, chosen: list[int], relevance: list[float]) -> list[int]:
    """For a chosen sentence from a correction notice, the best sentence of the earlier report
    it corrects (same outlet, older), so the answer can cite both."""
    extra: list[int] = []
    for i in list(chosen):
        fix = a.passages[a.sentences[i].n - 1]
        if not conflicts.is_correction(fix):
            continue
        originals = [j for j, s in enumerate(a.sentences)
                     if j not in chosen and j not in extra and conflicts.corrects(fix, a.passages[s.n - 1])]
        if originals and not any(conflicts.corrects(fix, a.passages[a.sentences[j].n - 1]) for j in chosen + extra):
            extra.append(max(originals, key=lambda j: relevance[j]))
    return extra


def _corrections_first(a: Assessment, chosen: list[int]) -> list[int]:
    """A correction's sentence leads, ahead of the report it supersedes: the corrected
    figure is the one a reader should take away."""
    fixes = [i for i in chosen if conflicts.is_correction(a.passages[a.sentences[i].n - 1])
             and any(conflicts.corrects(a.passages[a.sentences[i].n - 1], a.passages[a.sentences[j].n - 1])
                     for j in chosen)]
    return fixes + [i for i in chosen if i not in fixes]


def _quote(s: AssessedSentence, passages: Sequence[Passage], dated: bool) -> str:
    """The sentence with its marker; its date only where time matters (the question is about
    order in time or now, or the sentence speaks of its own present)."""
    sentence = cite(s.text, s.n)
    if dated or timeline.speaks_of_now(s.text):
        when = timeline.format_date(s.candidate.published)
        return f"{when}: {sentence}" if when else sentence
    return sentence


def _notes(a: Assessment, picked: Sequence[AssessedSentence], top: Sequence[AssessedSentence],
           missing: Sequence[str]) -> list[str]:
    candidates = [s.candidate for s in picked]
    notes = [
        conflicts.correction_note(candidates, a.passages),
        conflicts.figure_disagreement([(s.n, s.text) for s in picked if s.evidence.answers], a.passages),
        conflicts.naming_conflict([s.candidate for s in top if not conflicts.is_correction(a.passages[s.n - 1])],
                                  candidates),
        _wire_note(picked, a.passages),
    ]
    if missing:
        notes.append("There is no information about " + ", ".join(missing) + " in the retrieved articles.")
    return [n for n in notes if n]


def _wire_note(picked: Sequence[AssessedSentence], passages: Sequence[Passage]) -> str:
    """Who else carried a cited wire story: the original is the source, reprints corroborate it."""
    for n in dict.fromkeys(s.n for s in picked):
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
