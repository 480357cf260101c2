"""Where the sources disagree: different figures for one thing, different names for one
thing (MAI / M1 / MA1, DeepSee / DeepSeed / DeepSeek), and corrections that supersede an
earlier report. Each finder returns a sentence for the answer, citing both sides;
`find_conflicts` runs them over any answer's cited quotes, whoever wrote it, for the
answer's structured `conflicts` (what the reading page marks)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from service.answer.analysis import QuestionAnalysis, analyse
from service.answer.evidence import CONTEXT_CREDIT, Evidence, evidence
from service.answer.sentences import Candidate
from service.answer.timeline import format_date
from service.models import Passage
from service.text import tokenize

_FIGURE = re.compile(
    r"[$€£]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:billion|million|trillion))?"
    r"|\d[\d,]*(?:\.\d+)?\s?(?:%|percent|billion|million|trillion)",
    re.IGNORECASE,
)
SIMILAR = 0.2  # shared content words for two answering sentences to be about one thing


def figures(sentence: str) -> dict[str, dict[str, str]]:
    """Money amounts, percentages and large counts by unit: {'$billion': {'$6.6billion': '$6.6 billion'}}."""
    found: dict[str, dict[str, str]] = {}
    for match in _FIGURE.finditer(sentence):
        key = re.sub(r"\s+", "", match.group(0).lower()).replace("percent", "%")
        found.setdefault(re.sub(r"[\d,.]", "", key), {})[key] = match.group(0)
    return found


def similarity(a: str, b: str) -> float:
    """Overlap of the sentences' content words (figures left out), relative to the shorter."""
    ta, tb = set(tokenize(_FIGURE.sub(" ", a))), set(tokenize(_FIGURE.sub(" ", b)))
    return len(ta & tb) / min(len(ta), len(tb)) if ta and tb else 0.0


_UNIT_WORDS = frozenset(tokenize("billion million trillion thousand percent dollars euros pounds per cent"))
_WINDOW = 5  # words either side of a figure that say what it measures


def quantity_words(sentence: str) -> set[str]:
    """The words near the sentence's figures ("a $4 billion credit line", "a funding round of
    $6.5 billion"): what they are figures of, stemmed, units and figures left out."""
    words = list(re.finditer(r"[$€£]?\d[\d,.]*%?|[A-Za-z][\w'’-]*", sentence))
    spots = [i for i, w in enumerate(words) if _FIGURE.match(sentence, w.start())]
    near = {j for i in spots for j in range(max(0, i - _WINDOW), min(len(words), i + _WINDOW + 1))
            if j not in spots and not words[j].group(0)[0].isupper()}  # names say whose, not what
    return set(tokenize(" ".join(words[j].group(0) for j in sorted(near)))) - _UNIT_WORDS


_RUN = re.compile(r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")
_NOT_A_NAME = frozenset({"the", "a", "an", "it", "its", "this", "that", "in", "on", "at", "by", "for", "and", "but"})
_DAYS_AND_MONTHS = frozenset("monday tuesday wednesday thursday friday saturday sunday january february march april "
                             "may june july august september october november december".split())


def _names_in(text: str) -> set[str]:
    """Whole names (runs of capitalised words: "Elm Street Bridge" is not "Oak Street Bridge")."""
    out = set()
    for run in _RUN.findall(text):
        words = run.split()
        while words and words[0].lower() in _NOT_A_NAME:
            words = words[1:]
        if words and not all(w.lower().strip(",.") in _DAYS_AND_MONTHS for w in words):  # a date names nothing
            out.add(_key(" ".join(words)))
    return out


def same_quantity(a: str, b: str, title_a: str = "", title_b: str = "") -> bool:
    """Are two sentences' figures of one quantity of one thing? They must share a word of what
    the figures measure, and a name (in the sentences or their titles): a $4 billion credit
    line is not a $6.6 billion funding round, and one town's bridge is not another's."""
    shared_names = (_names_in(a) | _names_in(title_a)) & (_names_in(b) | _names_in(title_b))
    return bool(quantity_words(a) & quantity_words(b)) and bool(shared_names)


def figure_disagreement(chosen: Sequence[tuple[int, str]], passages: Sequence[Passage]) -> str:
    """Two sentences from different articles, both answering the question (the caller
    passes only those), that give wholly different figures in the same unit for the same
    quantity of the same thing."""
    for a in range(len(chosen)):
        for b in range(a + 1, len(chosen)):
            (na, sa), (nb, sb) = chosen[a], chosen[b]
            pa, pb = passages[na - 1], passages[nb - 1]
            if pa.article_id == pb.article_id or similarity(sa, sb) < SIMILAR or not same_quantity(sa, sb, pa.title, pb.title):
                continue
            fa, fb = figures(sa), figures(sb)
            for unit in fa.keys() & fb.keys():
                only_a = [v for k, v in fa[unit].items() if k not in fb[unit]]
                only_b = [v for k, v in fb[unit].items() if k not in fa[unit]]
                # Nothing in common in the unit, and the first figures of each differ: two
                # accounts of one set of numbers, not one sentence quoting an unrelated sum.
                if only_a and only_b and len(only_a) == len(fa[unit]) and len(only_b) == len(fb[unit]):
                    return (f"Note that the sources give different figures: {', '.join(only_a)} [{na}] "
                            f"versus {', '.join(only_b)} [{nb}].")
    return ""


# -- names -------------------------------------------------------------------------------

_NAME = re.compile(r"\b[A-Z][A-Za-z]*[A-Z0-9][\w-]*\b|\b[A-Z][a-z]{3,}[A-Z]?[a-z]*\b")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (short strings only)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def variant_names(a: str, b: str) -> bool:
    """Two spellings of one name: same first letter, same digits, a letter or two apart
    (DeepSee / DeepSeek, M1 / MA1 / MAI-1, Suleiman / Suleyman). A different version
    number (GPT-3 / GPT-4) is a different thing."""
    ka, kb = _key(a), _key(b)
    if ka == kb or not ka or not kb or ka[0] != kb[0]:
        return False
    if re.sub(r"\D", "", ka) != re.sub(r"\D", "", kb):
        return False
    if min(len(ka), len(kb)) < 2 or abs(len(ka) - len(kb)) > 2:
        return False
    limit = 2 if re.search(r"\d", ka) else 1  # ids with digits vary more (M1 / MAI-1)
    return _edits(ka, kb) <= limit and (len(ka) >= 5 or re.search(r"\d", ka) is not None)


def naming_conflict(sentences: Sequence[Candidate], focus: Sequence[Candidate], limit: int = 2) -> str:
    """A name in the chosen sentences (`focus`) spelled differently elsewhere among the
    retrieved sentences: '... is called MAI-1 [2], M1 and MA1 [1].'"""
    names: dict[str, dict[str, set[int]]] = {}
    for c in sentences:
        for name in _NAME.findall(c.text):
            names.setdefault(_key(name), {}).setdefault(name, set()).add(c.n)
    wanted = {_key(n) for c in focus for n in _NAME.findall(c.text)}
    notes: list[str] = []
    seen: set[str] = set()
    for key in sorted(wanted):
        if key in seen:
            continue
        group = {key} | {k for k in names if k != key and variant_names(key, k)}
        if len(group) < 2:
            continue
        group = {k for k in group if k in names}
        # In key order, then by source: iterating the set itself ordered ties by string hash,
        # so the note changed from one process to the next.
        spellings = sorted(((s, sorted(ns)) for k in sorted(group) for s, ns in names[k].items()), key=lambda x: x[1])
        if len({_key(s) for s, _ in spellings}) < 2:
            continue
        seen |= group
        parts = [f"{s} [{ns[0]}]" for s, ns in spellings[:5]]
        notes.append("The sources disagree on the name: " + ", ".join(parts) + ".")
    return " ".join(notes[:limit])


# -- corrections -------------------------------------------------------------------------

_CORRECTION = re.compile(r"^\s*(correction|corrected|clarification)\b|\bcorrection\b", re.I)


def is_correction(passage: Passage) -> bool:
    return bool(_CORRECTION.search(passage.title) or re.search(r"\b(misstated|was wrong|incorrectly (said|stated|reported))\b", passage.text, re.I))


def corrects(fix: Passage, earlier: Passage) -> bool:
    """Is `fix` a correction of `earlier`: same outlet, another article, published after it?"""
    return (fix.article_id != earlier.article_id and not is_correction(earlier) and fix.outlet == earlier.outlet
            and (earlier.published_at or "") < (fix.published_at or "~"))


def supersedes(i: int, fix: Passage, j: int, earlier: Passage) -> str:
    """'Source [i] is a correction, published <date>; it supersedes the earlier report [j] of <date>'."""
    return (f"Source [{i}] is a correction, published {format_date(fix.published_at or '')}; it "
            f"supersedes the earlier report [{j}] of {format_date(earlier.published_at or '') or 'no date'}")


def correction_note(chosen: Sequence[Candidate], passages: Sequence[Passage]) -> str:
    """When a chosen sentence comes from a correction notice and another chosen one from an
    earlier article of the same outlet, say which is the correction."""
    corrections = [c for c in chosen if is_correction(passages[c.n - 1])]
    for fix in corrections:
        fixed = passages[fix.n - 1]
        for other in chosen:
            earlier = passages[other.n - 1]
            if corrects(fixed, earlier):
                return supersedes(fix.n, fixed, other.n, earlier) + ", whose figure was wrong."
    return ""


_SAYS_CORRECTED = re.compile(r"\b(correct\w*|supersed\w*|wrong|erroneous\w*|mistake\w*|misstat\w*|in error|revised|retract\w*)\b", re.I)


def cited_correction(cited: set[int], passages: Sequence[Passage]) -> tuple[int, int] | None:
    """(correction, corrected report) source numbers, when the answer cites either of a
    correction among the sources and the earlier report it supersedes."""
    for i, fix in enumerate(passages, start=1):
        if not is_correction(fix):
            continue
        for j, earlier in enumerate(passages, start=1):
            if corrects(fix, earlier) and (i in cited or j in cited):
                return i, j
    return None


def unflagged_correction(answer: str, cited: set[int], passages: Sequence[Passage]) -> str:
    """A warning when an answer cites a report (or its correction) while a correction of it
    is among the sources, and never says so."""
    pair = None if _SAYS_CORRECTED.search(answer) else cited_correction(cited, passages)
    if pair is None:
        return ""
    i, j = pair
    return (f"source [{i}] corrects source [{j}] ({(passages[j - 1].published_at or '')[:10]}); "
            "the answer does not say which figure was corrected")


def superseded(cited: set[int], passages: Sequence[Passage]) -> str:
    """A correction among the sources that supersedes a report, when the answer cites either."""
    pair = cited_correction(cited, passages)
    if pair is None:
        return ""
    i, j = pair
    return supersedes(i, passages[i - 1], j, passages[j - 1]) + "."


LEADING_SOURCES = 4  # besides the cited ones, the sources whose spellings are compared


def find_conflicts(question: QuestionAnalysis | str, quoted: Sequence[tuple[int, str]],
                   passages: Sequence[Passage], known: Mapping[str, Evidence] | None = None) -> list[str]:
    """Where the sources behind an answer disagree, from its cited quotes ((source number,
    quote) pairs): different figures among the quotes that answer the question, a name
    spelled differently in the cited or leading sources, a correction that supersedes a
    cited report. The same findings in both modes: an LLM's answer is checked as the
    extractive one is written. (Lower-ranked sources are left out of the name comparison:
    there "GPT-4" meets "GPT-4o", another model.) `known`: the evidence already read of
    sentences (the question's assessment), by text."""
    if not quoted:
        return []
    q = question if isinstance(question, QuestionAnalysis) else analyse(question)
    chosen = [Candidate(n, 0, len(text), text, "", "") for n, text in quoted]
    cited = {n for n, _ in quoted}
    # Quotes about what was asked (a figure of the kind asked for, on its focus and its named
    # things), not only full answers: an LLM may cite "values the company at $150 billion" for
    # "valuation", which shares no word with the question but is one side of the dispute.
    known = known or {}
    answering = [(n, text) for n, text in quoted
                 if (ev := known.get(text) or evidence(q, text, passages[n - 1].title)).typed and ev.focused
                 and ev.entities >= CONTEXT_CREDIT]
    notes = [
        figure_disagreement(answering, passages),
        naming_conflict([Candidate(n, 0, len(p.text), p.text, "", "") for n, p in enumerate(passages, start=1)
                         if n in cited or n <= LEADING_SOURCES], chosen),
        superseded(cited, passages),
    ]
    return [n for n in notes if n]
