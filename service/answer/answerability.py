"""Can the retrieved sentences answer this question, or only talk about its topic?

The dense-cosine threshold catches questions about things the archive never covers. A
question on a covered topic whose answer the articles do not give ("how many people live
in Abilene?", asked over articles about a data centre in Abilene) passes it, so each
question is read for what it asks:

- the expected answer type: a count or amount needs a figure, "who" a person's name,
  "when" a date, in the sentence that answers;
- the thing being counted or priced ("how many *employees*", "what *percentage*"), which
  that sentence must name (or a close synonym);
- the named things (Abilene, MAI-1-preview, Arthur Mensch): the sentence, the one before
  it or its article's title must name them, ids with digits exactly;
- coverage of the question's other content words.

A sentence that meets all of them is evidence; with none, the question is refused before
any model is called. Every threshold here was set on `evals/cases.jsonl` (docs/evals.md
has the figures, and SciFact train's false-refusal rate).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from service.text import stopwords, tokenize

# Share of the question's remaining content words the answering sentence (with its
# title and previous sentence) must contain.
MIN_SUPPORT = 0.34
# A named thing found only in the sentence before (or the outlet's name) counts this much.
CONTEXT_CREDIT = 0.5


@dataclass(frozen=True)
class QuestionAnalysis:
    """What a question asks for and what it names (`analyse`)."""

    text: str
    kind: str  # "count" | "money" | "person" | "name" | "date" | "open"
    focus: frozenset[str]  # stems, any one of which the answering sentence must contain
    entities: tuple[str, ...]  # named things, lower-cased
    terms: frozenset[str]  # stemmed content words
    recency: bool  # asks about the latest / current state
    temporal: bool  # asks about order in time (before, after, first)
    alternatives: bool = False  # "A or B?", "A versus B", "compare A and B"
    statement: bool = False  # a claim to check ("Aspirin lowers the risk of ..."), not a question


_WH_AUX = frozenset(
    "what which who whom whose when where why how did does do is are was were has have had will would "
    "can could should according in on at of for the a an and or to from by after before since as".split())
_COUNT = re.compile(r"^\s*(?:how many|what (?:number|percentage|share|proportion|portion|fraction))\b", re.I)
_MONEY_WORDS = (r"cost|costs|price|priced|pay|paid|spend|spent|invest|invested|raise|raised|worth|value|valuation|"
                r"revenue|sales|fine|fines|salary|earn|earns|lose|lost|income|profit|fee|charge")
_MONEY = re.compile(rf"^\s*(?:how much\b|what (?:(?:is|was) the )?(?:{_MONEY_WORDS})\b|what (?:net )?(?:income|profit|revenue|price|valuation|salary|fee)\b)", re.I)
_PERSON = re.compile(r"^\s*(?:who|whom|whose)\b", re.I)
_DATE = re.compile(r"^\s*(?:when|what (?:date|year|month|day)|which (?:date|year|month|day)|by when|since when)\b", re.I)
# Lower-case only: "Silicon Current" is an outlet, not a question about the present.
_RECENCY = re.compile(r"^\s*(?:Latest|Newest|Most recent|Current(?:ly)?|Recent(?:ly)?)\b"
                      r"|\b(?:latest|newest|most recent|current(?:ly)?|now|today|recent(?:ly)?|so far|to date)\b")
_TEMPORAL = re.compile(r"\b(before|after|earlier|later|first|prior to|followed|preceded|since|until|in (january|february|march|april|may|june|july|august|september|october|november|december))\b", re.I)
_ALTERNATIVES = re.compile(r"\b(or|versus|vs\.?|compare[ds]?|comparison|differ\w*|both|whether)\b", re.I)
# "how many <X>", "what percentage", "what is the <X> of": the thing counted or priced.
_FOCUS = re.compile(r"^\s*(?:how many|what(?: is| was| are)?(?: the)?)\s+((?:[a-z-]+\s+){0,1}[a-z-]+)", re.I)
_SYNONYMS = {
    "employe": {"employe", "staff", "worker", "peopl", "headcount", "workforc"},
    "peopl": {"peopl", "user", "employe", "staff", "resid", "custom"},
    "popul": {"popul", "resid", "inhabit"},
    "percentag": {"%", "percent", "stake", "share"},
    "share": {"%", "percent", "stake", "share"},
    "salari": {"salari", "pay", "compens", "paid"},
    "price": {"price", "cost", "$", "€", "£", "charg"},
    "cost": {"price", "cost", "$", "€", "£", "spent", "spend"},
    "incom": {"incom", "profit", "earn"},
    "valuat": {"valuat", "valu", "worth"},
}
_SYNONYMS["gpus"] = _SYNONYMS["gpu"] = {"gpu", "gpus", "processor", "chip"}
# "How much does X cost / did X spend / invest / raise": the verb names what is priced.
_MONEY_FOCUS = {
    "cost": {"cost", "price", "pay", "paid", "charg", "per-token"},
    "price": {"cost", "price", "pay", "paid", "charg", "per-token"},
    "pay": {"pay", "paid", "cost", "price", "fee", "per-token"},
    "spend": {"spend", "spent", "cost", "invest"},
    "invest": {"invest", "stake", "commit", "fund"},
    "rais": {"rais", "round", "fund"},
    "lose": {"lose", "lost", "loss", "eras", "wipe", "fell", "drop"},
    "earn": {"earn", "incom", "revenu", "salari", "pay"},
    "valu": {"valu", "valuat", "worth"},
    "worth": {"valu", "valuat", "worth"},
    "fine": {"fine"},
    "salari": {"salari", "pay", "compens"},
    "revenu": {"revenu", "sale"},
}
_MONEY_NOUNS = frozenset("salary revenue revenues sales valuation price cost fine fines income profit fee fees budget".split())
_COUNT_NOUNS = frozenset("population age size number headcount percentage share".split())
# "What is the population of ...", "What annual revenue did ...", "How large a fine ...", "How old is ...".
_MEASURE = re.compile(
    rf"^\s*(?:what(?:'s| is| was| are| were)?(?: the)?(?: \w+)? ({'|'.join(sorted(_MONEY_NOUNS | _COUNT_NOUNS))})\b"
    rf"|how (?:large|big|high|much) an? ({'|'.join(sorted(_MONEY_NOUNS))})\b|how (old)\b)", re.I)
_ORGANISATIONS = frozenset({"compani", "firm", "start", "startup", "lab", "laboratori", "ventur", "bank", "investor", "fund"})
_ORGANISATION = re.compile(
    r"^\s*(?:which|what)\s+(?:company|firm|start-?up|lab|venture|bank|investor)\b"
    r"|^\s*what(?:'s| is| was) the name of (?:the|its|his|her|their) (?:new )?(?:company|firm|start-?up|lab|venture)\b", re.I)
_SYNONYMS["old"] = _SYNONYMS["age"] = {"old", "age", "aged", "born", "<age>"}
_AGE = re.compile(r"[A-Z][a-z]+,\s\d{2},")
_PER_UNIT = re.compile(r"[$€£]\s?\d[\d.,]*\s*(?:per|a|an|each)\b", re.I)
_GENERIC_FOCUS = frozenset("time times way ways news thing things kind kinds model models".split())
_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec").split()
_DATE_IN_TEXT = re.compile(
    rf"\b(?:{'|'.join(_MONTHS)})\.?\s+\d{{1,2}}\b|\b(?:19|20)\d\d\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    rf"|\b(?:{'|'.join(_MONTHS)})\b|\b(?:yesterday|last (?:week|month|year)|this (?:week|month|year)|next (?:week|month|year))\b", re.I)
# "..., the companies announced at the White House on Tuesday, January 21, 2025": the date
# something was said, which answers "when was it announced?" and not "when will it open?".
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_STATEMENT_DATE = re.compile(
    rf"\b(?:announced|said|told|confirmed|disclosed|revealed|unveiled|reported|wrote)\b[^.;]{{0,40}}?\bon\s+"
    rf"(?:(?:{_WEEKDAYS})\b,?\s*)?(?:(?:{'|'.join(_MONTHS)})\.?\s+\d{{1,2}}\b(?:,?\s*(?:19|20)\d\d\b)?)?", re.I)
# A question about what is still to come: the date a report was made cannot answer it.
_AHEAD = re.compile(r"\bwhen\s+(?:will|is|are|would)\b|\b(?:expected|due|scheduled|planned|set)\s+to\b", re.I)
# Words that are capitalised in names but name nothing by themselves: "Mistral AI" is found
# by "Mistral", never by "AI" in a sentence about Microsoft's AI models.
_GENERIC_NAME_WORDS = frozenset({"ai"})
# "three people familiar with the work", "two people briefed on the talks": who a report
# cites, not a count of anything the question asks about.
_ATTRIBUTION = re.compile(r"\s+(?:familiar with|with knowledge of|briefed on|close to|who spoke|who asked|who declined)\b", re.I)
_NUMBER_IN_TEXT = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand|million|billion|trillion)\b", re.I)
_MONEY_IN_TEXT = re.compile(r"[$€£¥]\s?\d|\d\s?(?:%|percent|billion|million|trillion|dollars|euros|cents)\b", re.I)
_NAME_IN_TEXT = re.compile(r"\b(?!(?:The|A|An|In|On|At|By|For|Its|His|Her|Their|This|That|These|Those|But|And|After|Before|"
                           r"When|While|Under|Over|Since|Until|From|With|Monday|Tuesday|Wednesday|Thursday|Friday|"
                           r"Saturday|Sunday)\b)[A-Z][a-zé'’-]+(?:\s+[A-Z]\.)?\s+[A-Z][a-zé'’-]+")
_FIGURE_TOKEN = re.compile(r"\d[\d.,%-]*(?:[a-z][a-z-]*)?")
_PROPER = re.compile(r"(?<=\s)[A-Z][\w-]*[a-zA-Z]\w*(?:\s+[A-Z][\w-]+)*")  # a name, not the sentence's first word
_ENTITY = re.compile(r"[a-z]*[A-Z][\w.'’-]*\w|\w*\d[\w.-]*\w|\w*\d")


def analyse(question: str) -> QuestionAnalysis:
    """What kind of answer the question asks for, and what it names."""
    kind = ("count" if _COUNT.search(question) else "money" if _MONEY.search(question)
            else "person" if _PERSON.search(question) else "date" if _DATE.search(question) else "open")
    focus: set[str] = set()
    organisation = _ORGANISATION.search(question)
    if kind == "open" and organisation:
        # "Which company did X join?", "What is the name of the start-up X founded?"
        kind = "name"
        focus |= _ORGANISATIONS
    measure = _MEASURE.search(question)
    if kind == "open" and measure:
        noun = next(g for g in measure.groups() if g).lower()
        kind = "money" if noun in _MONEY_NOUNS else "count"
        stem = (tokenize(noun) or [noun])[0]
        focus |= _MONEY_FOCUS.get(stem) or _SYNONYMS.get(stem, {stem})
    match = _FOCUS.search(question)
    if kind in ("count", "money") and match and not focus:
        words = [w for w in match.group(1).lower().split() if w not in stopwords() and w not in _WH_AUX]
        if kind == "count" and words and words[0] in ("percentage", "share", "proportion", "portion", "fraction"):
            words = [words[0]]
        for word in words[-1:]:
            if word not in _GENERIC_FOCUS:
                stem = (tokenize(word) or [word])[0]
                focus |= _SYNONYMS.get(stem, {stem})
    if kind == "money" and not focus:
        for word in re.findall(r"[a-z]+", question.lower()):
            stem = (tokenize(word) or [""])[0]
            if stem in _MONEY_FOCUS:
                focus |= _MONEY_FOCUS[stem]
                break
    entities = tuple(e for e in _entities(question) if not focus & set(tokenize(e.lower())))
    entity_tokens = {t for e in entities for t in tokenize(e.lower())}
    # Months, years and day numbers say when, which the article's date answers as well as its text.
    undated = _DATE_IN_TEXT.sub(" ", question)
    terms = frozenset(t for t in tokenize(undated) if t not in QUESTION_STEMS) - entity_tokens - focus
    # "What does the March 10, 2025 article call the latest model?" asks about that date, not today.
    pinned = bool(re.search(rf"\b(?:{'|'.join(_MONTHS)})\.?\s+\d{{1,2}}\b", question, re.I))
    return QuestionAnalysis(question, kind, frozenset(focus), entities, terms,
                    bool(_RECENCY.search(question)) and not pinned, bool(_TEMPORAL.search(question)),
                    bool(_ALTERNATIVES.search(question)), _is_statement(question))


QUESTION_STEMS = frozenset(tokenize("many much according report reported say said tell news article articles "
                                     "happen happened latest recent current newest get got make made take show "
                                     "go give gave use come one cover covered"))


def _is_statement(text: str) -> bool:
    first = (re.findall(r"[A-Za-z']+", text) or [""])[0].lower()
    return not text.rstrip().endswith("?") and first not in _WH_AUX


def _entities(question: str) -> tuple[str, ...]:
    """Capitalised runs and tokens with digits, the question's first word excluded unless
    it is itself a name: 'How many parameters does MAI-1-preview have?' -> ('mai-1-preview',)."""
    found: list[str] = []
    words = list(_ENTITY.finditer(question))
    run: list[str] = []
    for i, m in enumerate(words):
        token = re.sub(r"['’]s$", "", m.group(0)).strip(".")
        first = m.start() == len(question) - len(question.lstrip())
        # The first word is capitalised anyway: it names something only if it looks like a name
        # in any position (KRAS, Ly49Q, 4-PBA), not when it is a question word or a plain word.
        if first and (token.lower() in _WH_AUX or not re.search(r".[A-Z0-9]", token)):
            continue
        after_month = i > 0 and words[i - 1].group(0).lower() in _MONTHS and token.isdigit()
        if token.lower() in _MONTHS or token.lower() in ("the", "i") or re.fullmatch(r"(19|20)\d\d", token) or after_month:
            if run:
                found.append(" ".join(run))
                run = []
            continue
        adjacent = (bool(run) and i > 0 and question[words[i - 1].end():m.start()].strip(" ") == ""
                    and not re.search(r"['’]s$", words[i - 1].group(0)))
        if adjacent:
            run.append(token)
        else:
            if run:
                found.append(" ".join(run))
            # A figure on its own ("10%", "40mg", "7-day-old") is a claim about a value, not a
            # name; in a name ("Llama 3.1", "Claude 3.5 Sonnet") it stays.
            run = [] if _FIGURE_TOKEN.fullmatch(token) else [token]
    if run:
        found.append(" ".join(run))
    found = [e for e in found if e.lower() not in _GENERIC_NAME_WORDS]  # "AI" alone names nothing in particular
    return tuple({e.lower(): e for e in reversed(found) if e}.values())[::-1]


@lru_cache(maxsize=16_384)  # sentences: bounded to a few tens of MiB per replica
def _word_set(text: str) -> frozenset[str]:
    lowered = text.lower().replace("’", "'")
    words = re.findall(r"[\w.-]*\w", lowered)
    parts = {p for w in words for p in re.split(r"[-.]", w) if p}
    return frozenset(words) | parts | frozenset(tokenize(lowered))


def entity_found(entity: str, text: str) -> bool:
    """An entity is in `text` when its tokens with digits all are, exactly (MAI-1 is not
    MAI-1-preview), and most of its other words are."""
    words = _word_set(text)
    tokens = entity.lower().split()
    exact = [t for t in tokens if any(c.isdigit() for c in t)]
    if not all(t in words for t in exact):
        return False
    plain = [t for t in tokens if t not in exact]
    plain = [t for t in plain if t not in _GENERIC_NAME_WORDS] or plain
    if not plain:
        return True
    hits = sum(t in words or (tokenize(t) or [t])[0] in words for t in plain)
    return hits / len(plain) >= 0.5


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
    if kind == "person":
        return bool(_NAME_IN_TEXT.search(sentence))
    if kind == "date":
        return bool(_DATE_IN_TEXT.search(sentence))
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
        names = _NAME_IN_TEXT if question.kind == "person" else _PROPER
        typed = any(not any(entity_found(e, m.group(0)) or entity_found(m.group(0).lower(), e) for e in question.entities)
                    for m in names.finditer(sentence))
    else:
        dated = _STATEMENT_DATE.sub(" ", sentence) if _AHEAD.search(question.text) else sentence
        typed = has_type(question.kind, dated if question.kind == "date" else sentence)
        if typed and question.kind == "count" and question.focus and all(f.isalnum() for f in question.focus):
            typed = counts_focus(question.focus, sentence)
    return Evidence(typed, focused, entities, support, question.kind == "open" and bool(question.entities),
                    question.statement)


_CLAUSE = re.compile(r"(?:,\s*|\s+)(?:and|or|but)\s+(?=(?:what|who|when|where|which|how|why|is|are|was|were|did|does|do)\b)"
                     r"|;\s*", re.I)


def clauses(question: str) -> list[str]:
    """'How much does X cost, and what hardware can it run on?' -> its two questions."""
    parts = [p.strip() for p in _CLAUSE.split(question) if p and p.strip()]
    return parts or [question]


def answerable(question: str, sentences: Sequence[tuple[str, str, str]],
               passages: Sequence[tuple[str, str, str]] = ()) -> bool:
    """Does some (sentence, context, outlet) answer the question, or one of its clauses? A
    question that names several things ("did The Ledger Wire report it before Northgate?")
    is also answered by one sentence for each of them. A claim to check (not a question) may
    be met by a whole passage: it asks whether the archive speaks to it, not for a value."""
    if passages and analyse(question).statement:
        sentences = [*sentences, *passages]
    for q in map(analyse, clauses(question)):
        if any(evidence(q, s, c, o).answers for s, c, o in sentences):
            return True
        if len(q.entities) > 1 and all(any(evidence(replace(q, entities=(e,)), s, c, o).answers for s, c, o in sentences)
                                       for e in q.entities):
            return True
    return False
