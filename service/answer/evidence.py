"""How much one sentence holds of what a question asks: its answer type, the thing counted
or priced, the question's named things (in the sentence, the one before it or its article's
title), and the question's other words. These are features: the gate
(`service.answer.gate`) learns what they are worth; the extractive answer ranks sentences
with them (`service.answer.assessment`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from service.answer.analysis import AHEAD, DATE_IN_TEXT, GENERIC_NAME_WORDS, MONTHS, WEEKDAYS, QuestionAnalysis
from service.text import tokenize

# Share of the question's remaining content words the answering sentence (with its
# title and previous sentence) must contain.
MIN_SUPPORT = 0.34
# A named thing found only in the sentence before (or the outlet's name) counts this much.
CONTEXT_CREDIT = 0.5

_AGE = re.compile(r"[A-Z][a-z]+,\s\d{2},")
_PER_UNIT = re.compile(r"[$€£]\s?\d[\d.,]*\s*(?:per|a|an|each)\b", re.I)
_STATEMENT_DATE = re.compile(
    rf"\b(?:announced|said|told|confirmed|disclosed|revealed|unveiled|reported|wrote)\b[^.;]{{0,40}}?\bon\s+"
    rf"(?:(?:{WEEKDAYS})\b,?\s*)?(?:(?:{'|'.join(MONTHS)})\.?\s+\d{{1,2}}\b(?:,?\s*(?:19|20)\d\d\b)?)?", re.I)
# "three people familiar with the work", "two people briefed on the talks": who a report
# cites, not a count of anything the question asks about.
_ATTRIBUTION = re.compile(r"\s+(?:familiar with|with knowledge of|briefed on|close to|who spoke|who asked|who declined)\b", re.I)
_NUMBER_IN_TEXT = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand|million|billion|trillion)\b", re.I)
# Currency words after an amount ("400 million euro", "2.5 billion yen"), for every money pattern.
CURRENCY_WORDS = r"dollars?|euros?|yen|yuan|francs?|pesos?|rupees?|kronor|usd|eur|gbp"
_MONEY_IN_TEXT = re.compile(rf"[$€£¥]\s?\d|\d\s?(?:%|percent|billion|million|trillion|{CURRENCY_WORDS}|cents)\b", re.I)
# Capitalised words that start sentences and clauses, and days: never a name by themselves;
# and those that are not an agent either (a pronoun, a month). `short_answers` reads names
# with both lists.
_NOT_NAME_WORDS = ("The A An In On At By For Its His Her Their This That These Those But And After Before When While "
                   "Under Over Since Until From With Monday Tuesday Wednesday Thursday Friday Saturday Sunday").split()
_NOT_AGENT_WORDS = ("It He She They We I January February March April May June July August September October "
                    "November December").split()
NOT_NAMES = frozenset(w.lower() for w in _NOT_NAME_WORDS + _NOT_AGENT_WORDS)  # lower-cased, both lists
_NOT_NAMES = "|".join(_NOT_NAME_WORDS)
# "Who ...?" asks for an agent: a person's name (two capitalised words), or a single name
# that acts as the subject of a verb ("Nvidia reported", "Microsoft hires"): a company or a
# body. A lone capitalised word elsewhere ("Altman, the chief executive, praised ...") is no
# answer of this kind by itself.
_NAME_IN_TEXT = re.compile(rf"\b(?!(?:{_NOT_NAMES})\b)[A-Z][a-zé'’-]+(?:\s+[A-Z]\.)?\s+[A-Z][a-zé'’-]+")
# A verb's subject may also be a pronoun or a month ("It said", "May saw"): neither is an agent.
_AGENT_IN_TEXT = re.compile(rf"\b(?!(?:{_NOT_NAMES}|{'|'.join(_NOT_AGENT_WORDS)})\b)[A-Z][\w&-]*[A-Za-z]\s+[a-z]{{2,}}(?:ed|s)\b")
_PROPER = re.compile(r"(?<=\s)[A-Z][\w-]*[a-zA-Z]\w*(?:\s+[A-Z][\w-]+)*")  # a name, not the sentence's first word



@lru_cache(maxsize=16_384)  # sentences: bounded to a few tens of MiB per replica
def _word_set(text: str) -> frozenset[str]:
    lowered = text.lower().replace("’", "'")
    words = re.findall(r"[\w.-]*\w", lowered)
    parts = {p for w in words for p in re.split(r"[-.]", w) if p}
    return frozenset(words) | parts | frozenset(tokenize(lowered))


@lru_cache(maxsize=16_384)
def _stem_of(word: str) -> str:
    return (tokenize(word) or [word])[0]


def entity_found(entity: str, text: str, *, whole: bool = False) -> bool:
    """An entity is in `text` when its tokens with digits or of one letter all are, exactly
    (MAI-1 is not MAI-1-preview, Measure H is not Measure P), and most of its other words are (with `whole`, all of them: the Elm
    Street Bridge is not the Oak Street Bridge)."""
    words = _word_set(text)
    tokens = entity.lower().split()
    exact = [t for t in tokens if any(c.isdigit() for c in t) or len(t) == 1]  # "Measure H" is not "Measure P"
    if not all(t in words for t in exact):
        return False
    plain = [t for t in tokens if t not in exact]
    plain = [t for t in plain if t not in GENERIC_NAME_WORDS] or plain
    if not plain:
        return True
    hits = sum(t in words or _stem_of(t) in words for t in plain)
    return hits == len(plain) if whole else hits / len(plain) >= 0.5


def names_sibling(entity: str, text: str, named: Sequence[str] = ()) -> bool:
    """Does `text` name a sibling of the entity instead of it: MAI-1 for MAI-1-preview,
    GPT-4 for GPT-5? Then the sentence answers about the sibling, whatever its title says.
    Siblings the question itself names (`named`: "GPT-3 or GPT-4?") do not count."""
    words = _word_set(text) - {t for e in named for t in e.lower().split()}
    for token in entity.lower().split():
        stem = re.match(r"[a-z]{3,}(?=[-\d])", token)
        if not stem or token in words:
            continue
        if any(w != token and w.startswith(stem.group(0)) and re.search(r"\d", w) for w in words):
            return True
    return False


# "a 400 million euro expansion", "a $2bn deal": an amount set before a noun is that thing's price.
_AMOUNT_BEFORE_NOUN = re.compile(
    r"(?:[$€£¥]\s?\d[\d,.]*|\d[\d,.]*)\s?(?:billion|million|trillion|bn|m)?\s?(?:euros?|dollars?|pounds?|yen)?"
    r"[\s-]+([a-z]+)(?:[\s-]+([a-z]+))?", re.I)


def prices_a_term(question: QuestionAnalysis, sentence: str) -> bool:
    """Does the sentence put an amount directly before something the question asks about?"""
    return any(bool(set(tokenize(" ".join(filter(None, m.groups())))) & question.terms)
               for m in _AMOUNT_BEFORE_NOUN.finditer(sentence) if _MONEY_IN_TEXT.search(m.group(0)))


_COUNT_WINDOW = 4  # words between a figure and the thing it counts: "15,000 Nvidia H100 graphics processors"
_CLAUSE_BREAK = re.compile(r"[,;:()—–]")
_WORD_OR_FIGURE = re.compile(r"\d[\d.,]*\w*|[a-zé'’]+", re.I)


def counts_focus(focus: frozenset[str], sentence: str) -> bool:
    """Does a figure stand within a few words of the thing counted, in one clause? "500
    employees", "a workforce of 1,200"; not "500 billion parameters, the people said" for
    "how many employees", where the figure counts something else."""
    words = list(_WORD_OR_FIGURE.finditer(sentence))
    figures = [i for i, m in enumerate(words) if _NUMBER_IN_TEXT.fullmatch(m.group(0)) or m.group(0)[0].isdigit()]
    if not figures:
        return False
    things = [i for i, m in enumerate(words) if (tokenize(m.group(0).lower()) or [m.group(0).lower()])[0] in focus
              and not _ATTRIBUTION.match(sentence, m.end())]
    for i in figures:
        for j in things:
            a, b = sorted((i, j))
            if b - a <= _COUNT_WINDOW and not _CLAUSE_BREAK.search(sentence, words[a].end(), words[b].start()):
                return True
    return False


def has_type(kind: str, sentence: str) -> bool:
    if kind == "count":
        return bool(_NUMBER_IN_TEXT.search(sentence))
    if kind == "money":
        return bool(_MONEY_IN_TEXT.search(sentence))
    if kind == "date":
        return bool(DATE_IN_TEXT.search(sentence))
    return True


@dataclass(frozen=True)
class Evidence:
    """How well one sentence answers the question."""

    typed: bool  # it holds the kind of answer asked for
    focused: bool  # it names the thing counted or priced
    entities: float  # share of the question's named things in the sentence or its context
    support: float  # share of the question's other content words in the sentence
    named: bool = False  # an open question that names things: naming them all may stand in for support
    statement: bool = False  # a claim to check: most of its words may stand in for its names

    @property
    def answers(self) -> bool:
        supported = self.support >= MIN_SUPPORT or (self.named and self.entities == 1.0)
        named = self.entities >= CONTEXT_CREDIT or (self.statement and self.support >= 0.5)
        return self.typed and self.focused and named and supported


def evidence(question: QuestionAnalysis, sentence: str, context: str = "", outlet: str = "") -> Evidence:
    """`context`: the article's title and the sentence before, where a named thing the
    sentence refers to by pronoun is usually spelled out. `outlet`: who published it
    ("according to Northgate Business Review" is met by any sentence Northgate published)."""
    words = _word_set(sentence)
    focused = (not question.focus or bool(question.focus & words)
               or any(f in sentence for f in question.focus if not f.isalnum())
               or ("per-token" in question.focus and bool(_PER_UNIT.search(sentence)))
               or ("<age>" in question.focus and bool(_AGE.search(sentence)))
               or (question.kind == "money" and prices_a_term(question, sentence)))
    # The least-found named thing counts: an answer about MAI-1 is no answer about MAI-1-preview.
    found = [1.0 if entity_found(e, sentence) or (outlet and entity_found(e, outlet))
             else 0.0 if names_sibling(e, sentence, question.entities)
             else CONTEXT_CREDIT if entity_found(e, context) else 0.0
             for e in question.entities]
    # Each side of "A or B?" may be answered by its own sentence; otherwise every named thing counts.
    # A claim to check is about its topic as a whole: its names count on average.
    entities = (sum(found) / len(found) if question.alternatives or question.statement else min(found)) if found else 1.0
    support = len(question.terms & words) / len(question.terms) if question.terms else 1.0
    if question.kind in ("person", "name"):  # a name besides those the question gives
        names = ([m.group(0) for m in _NAME_IN_TEXT.finditer(sentence)]
                 + [m.group(0).split()[0] for m in _AGENT_IN_TEXT.finditer(sentence)]
                 if question.kind == "person" else [m.group(0) for m in _PROPER.finditer(sentence)])
        typed = any(not any(entity_found(e, n) or entity_found(n.lower(), e) for e in question.entities) for n in names)
    else:
        dated = _STATEMENT_DATE.sub(" ", sentence) if AHEAD.search(question.text) else sentence
        typed = has_type(question.kind, dated if question.kind == "date" else sentence)
        if typed and question.kind == "count" and question.focus and all(f.isalnum() for f in question.focus):
            typed = counts_focus(question.focus, sentence)
    return Evidence(typed, focused, entities, support, question.kind == "open" and bool(question.entities),
                    question.statement)

