"""What an answer says, as far as a follower cares, and how two of those differ.

A saved question is re-answered whenever a write could affect it, and most re-answers
say the same thing in other words, or cite the same articles in another order. Only four
differences are news (issue 22):

    answered    the question was refused before and is answered now
    source      an article is cited that was not (a wire copy of a cited one is not new)
    figure      a figure in the cited quotes that was not there ("$21 million"); when a
                correction among the sources supersedes a report cited before, the figure
                is "Corrected: $12 million → $21 million [2]"
    name        for a question asking who or which, a name in the quotes that was not there

Anything else, including a source dropped or an answer that became a refusal, is not a
change. `Substance` is what is kept between answers (JSON in the follow's record).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from service.answer.analysis import analyse
from service.answer.conflicts import SIMILAR, corrects, figures, is_correction, similarity
from service.answer.timelines import correction_note
from service.models import Answer, Passage, Source

_NAME_KINDS = ("person", "name")
# Runs of capitalised words ("Lorna Fitzgerald") and ids with capitals or digits ("MAI-1").
_NAME = re.compile(r"\b[A-Z][a-zé'’-]+(?:\s+[A-Z][a-zé'’-]+)+\b|\b[A-Z][A-Za-z]*[A-Z0-9][\w-]*\b")
_NOT_NAMES = frozenset("The A An In On At By For But And After Before When While Under Over Since From With".split())


def names_in(text: str) -> list[str]:
    """The names a sentence gives, sentence-opening words left off."""
    out = []
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        while words and words[0] in _NOT_NAMES:
            words = words[1:]
        if len(words) > 1 or (words and re.search(r"[A-Z0-9].*[A-Z0-9]|\d", words[0])):
            out.append(" ".join(words))
    return out


@dataclass(frozen=True)
class CitedSource:
    """One cited source as the follower remembers it."""

    article_id: str
    title: str
    outlet: str | None
    published_at: str | None
    copies: tuple[str, ...]  # article ids of wire copies folded into it
    figures: tuple[tuple[str, str], ...]  # (key, as written): "$21million", "$21 million"
    names: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    kind: str  # "answered" | "source" | "figure" | "corrected" | "name"
    text: str  # what changed, citing the new answer's sources: "Corrected: $12 million → $21 million [2]"

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class Substance:
    answerable: bool
    cited: tuple[CitedSource, ...] = field(default_factory=tuple)
    # Corrections among the answer's sources, cited or not: each is told once, when it first
    # appears (an answer may go on quoting the report it corrects).
    corrections: tuple[str, ...] = ()

    @classmethod
    def of(cls, question: str, answer: Answer) -> Substance:
        if not answer.answerable:
            return cls(False)
        wants_names = analyse(question).kind in _NAME_KINDS
        by_n = {s.n: s for s in answer.sources}
        cited: dict[str, CitedSource] = {}
        for c in answer.citations:
            source = by_n.get(c.n)
            found = sorted({(k, v) for unit in figures(c.quote).values() for k, v in unit.items()})
            names = sorted(set(names_in(c.quote))) if wants_names else []
            known = cited.get(c.article_id)
            cited[c.article_id] = CitedSource(
                c.article_id, c.title, c.outlet, c.published_at,
                tuple(sorted(r.article_id for r in source.corroborated_by)) if source else (),
                tuple(sorted(set(found) | set(known.figures if known else ()))),
                tuple(sorted(set(names) | set(known.names if known else ()))))
        corrections = sorted({s.article_id for s in answer.sources if is_correction(_passage(s))})
        return cls(True, tuple(sorted(cited.values(), key=lambda s: s.article_id)), tuple(corrections))

    @property
    def articles(self) -> set[str]:
        """Every article the answer rests on, wire copies included."""
        return {a for s in self.cited for a in (s.article_id, *s.copies)}

    @property
    def figure_keys(self) -> dict[str, str]:
        return {k: v for s in self.cited for k, v in s.figures}

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:24]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Substance:
        if not data:
            return cls(False)
        cited = tuple(CitedSource(c["article_id"], c.get("title", ""), c.get("outlet"), c.get("published_at"),
                                  tuple(c.get("copies", ())), tuple((str(k), str(v)) for k, v in c.get("figures", ())),
                                  tuple(c.get("names", ()))) for c in data.get("cited", ()))
        return cls(bool(data.get("answerable")), cited, tuple(data.get("corrections", ())))


def changes(old: Substance, new: Substance, answer: Answer) -> list[Change]:
    """What the new answer says that the old one did not, in the four kinds above; empty
    when nothing of substance changed."""
    if not new.answerable:
        return []
    number = _source_numbers(answer)
    if not old.answerable:
        return [Change("answered", f"Now answered: {_first_sentence(answer)}")]
    out, corrected, fixes = _corrections(old, answer, number)
    out += [Change("source", f"New source: {s.title or s.article_id} ({_who(s)}) [{number.get(s.article_id, '?')}]")
            for s in new.cited if s.article_id not in old.articles | fixes and not set(s.copies) & old.articles]
    old_figures = old.figure_keys
    for s in new.cited:
        fresh = [shown for key, shown in s.figures if key not in old_figures and key not in corrected]
        if fresh:
            out.append(Change("figure", f"New figure: {', '.join(fresh)} [{number.get(s.article_id, '?')}]"))
    old_names = {n for s in old.cited for n in s.names}
    for s in new.cited:
        fresh_names = [n for n in s.names if n not in old_names]
        if fresh_names:
            out.append(Change("name", f"New name: {', '.join(fresh_names)} [{number.get(s.article_id, '?')}]"))
    return out


def _corrections(old: Substance, answer: Answer, number: dict[str, int]) -> tuple[list[Change], set[str], set[str]]:
    """A correction among the new answer's sources that supersedes a report the old answer
    cited: "Corrected: <the report's figure> → <the correction's figure> [n]"; the figure
    keys and the articles told that way (not told again as new figures and sources)."""
    passages = [_passage(s) for s in answer.sources]
    number_cited = {c.article_id for c in answer.citations}
    out: list[Change] = []
    told: set[str] = set()
    fixes: set[str] = set()
    for fix in passages:
        if not is_correction(fix) or fix.article_id in old.articles or fix.article_id in old.corrections:
            continue  # a correction told before is not news
        cited = fix.article_id in number_cited
        earlier = next((p for p in passages if p.article_id in old.articles and _corrected_by(old, fix, p, cited)), None)
        if earlier is not None:
            text, keys = _corrected(old, fix, earlier, number)
            out.append(Change("corrected", text))
            told |= keys
            fixes.add(fix.article_id)
    return out, told, fixes


def _corrected_by(old: Substance, fix: Passage, earlier: Passage, cited: bool) -> bool:
    """Does `fix` correct the report `earlier` that the old answer cited? The same outlet,
    later (`corrects` knows no more), and about the same thing: it names a figure the old
    answer quoted from that report ("$21 million, not $12 million"), or the new answer cites
    it and it shares the report's words. Another story's correction from the same outlet
    is not one, however alike the two read."""
    if not corrects(fix, earlier):
        return False
    before = {k for s in old.cited if s.article_id == earlier.article_id for k, _ in s.figures}
    after = {k for unit in figures(fix.title + ". " + fix.text).values() for k in unit}
    if before & after:
        return True
    return cited and similarity(fix.title + ". " + fix.text, earlier.title + ". " + earlier.text) >= SIMILAR


def _corrected(old: Substance, fix: Passage, earlier: Passage, number: dict[str, int]) -> tuple[str, set[str]]:
    n = number.get(fix.article_id, "?")
    note = correction_note(fix.title) or correction_note(fix.text)  # "..., $21 million, not $12 million"
    if note:
        return f"{note} [{n}]", {k for unit in figures(note.split("→")[-1]).values() for k in unit}
    before = dict(next((s.figures for s in old.cited if s.article_id == earlier.article_id), ()))
    after = {k: v for unit in figures(fix.title + ". " + fix.text).values() for k, v in unit.items()}
    gone = [k for k in before if k not in after]
    came = [k for k in after if k not in before]
    if gone and came:
        return f"Corrected: {before[gone[0]]} → {after[came[0]]} [{n}]", set(came)
    return f"Corrected: {fix.title} [{n}]", set()


def _passage(source: Source) -> Passage:
    return Passage(chunk_ids=[], article=source.article, text=source.text, char_start=source.start,
                   char_end=source.end)


def _source_numbers(answer: Answer) -> dict[str, int]:
    """Each article's source number in the answer: its first citation, else its source."""
    out: dict[str, int] = {}
    for c in answer.citations:
        out.setdefault(c.article_id, c.n)
    for s in answer.sources:
        out.setdefault(s.article_id, s.n)
    return out


def _who(source: CitedSource) -> str:
    return ", ".join(x for x in (source.outlet, (source.published_at or "")[:10]) if x) or "undated"


def _first_sentence(answer: Answer) -> str:
    text = " ".join(answer.answer.split())
    cut = text.find(". ")
    return text if cut < 0 else text[: cut + 1]
