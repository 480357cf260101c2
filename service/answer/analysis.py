"""What a question asks for and what it names: its answer type (a count, an amount, a
person, a name, a date, or open), the thing counted or priced, the named things, its content
words, and whether it asks about now, about order in time, between alternatives, or is a
claim to check. Built once per ask (`service.answer.assessment`) and read by the gate, the
extractive answer, the short answer and the conflict check.

The lexicon (answer-type cues, focus synonyms) was written from the project's own eval cases;
which of it matters is now learned by the gate (`service.answer.gate`), measured on data it
was not written from (docs/evals.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from service.text import stopwords, tokenize


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
    polar: bool = False  # a yes/no question ("Did ...", "Is ...", "Was there ...")


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
# The focus "how much does it cost / pay" gets: asks a price, without naming what is priced.
PRICING_FOCUS = frozenset(_MONEY_FOCUS["cost"] | _MONEY_FOCUS["pay"])
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
# "How much severance did she receive?": the noun between "how much" and the verb is what is
# priced, as "how many votes" names what is counted.
_HOW_MUCH_NOUN = re.compile(r"^\s*how much\s+([a-z-]+)\s+(?:did|does|do|was|is|were|are|has|have|had|will|would|could|can)\b",
                            re.I)
_GENERIC_FOCUS = frozenset("time times way ways news thing things kind kinds model models money cash".split())
MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec").split()
DATE_IN_TEXT = re.compile(
    rf"\b(?:{'|'.join(MONTHS)})\.?\s+\d{{1,2}}\b|\b(?:19|20)\d\d\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    rf"|\b(?:{'|'.join(MONTHS)})\b|\b(?:yesterday|last (?:week|month|year)|this (?:week|month|year)|next (?:week|month|year))\b", re.I)
# "..., the companies announced at the White House on Tuesday, January 21, 2025": the date
# something was said, which answers "when was it announced?" and not "when will it open?".
WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
# A question about what is still to come: the date a report was made cannot answer it.
AHEAD = re.compile(r"\bwhen\s+(?:will|is|are|would)\b|\b(?:expected|due|scheduled|planned|set)\s+to\b", re.I)
# Words that are capitalised in names but name nothing by themselves: "Mistral AI" is found
# by "Mistral", never by "AI" in a sentence about Microsoft's AI models.
GENERIC_NAME_WORDS = frozenset({"ai"})
_FIGURE_TOKEN = re.compile(r"\d[\d.,%-]*(?:[a-z][a-z-]*)?")
# The last alternative: a lone capital after a capitalised word, "Measure H", "Series B", "Plan
# C", where the letter is what tells the thing from its siblings.
_ENTITY = re.compile(r"[a-z]*[A-Z][\w.'’-]*\w|\w*\d[\w.-]*\w|\w*\d|(?<=[A-Za-z] )[A-Z]\b(?![.'’&-])")


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
    match = _FOCUS.search(question) or _HOW_MUCH_NOUN.search(question)
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
    undated = DATE_IN_TEXT.sub(" ", question)
    terms = frozenset(t for t in tokenize(undated) if t not in QUESTION_STEMS) - entity_tokens - focus
    # "What does the March 10, 2025 article call the latest model?" asks about that date, not today.
    pinned = bool(re.search(rf"\b(?:{'|'.join(MONTHS)})\.?\s+\d{{1,2}}\b", question, re.I))
    return QuestionAnalysis(question, kind, frozenset(focus), entities, terms,
                            bool(_RECENCY.search(question)) and not pinned, bool(_TEMPORAL.search(question)),
                            bool(_ALTERNATIVES.search(question)), _is_statement(question), is_polar(question))


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
        after_month = i > 0 and words[i - 1].group(0).lower() in MONTHS and token.isdigit()
        if token.lower() in MONTHS or token.lower() in ("the", "i") or re.fullmatch(r"(19|20)\d\d", token) or after_month:
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
    found = [e for e in found if e.lower() not in GENERIC_NAME_WORDS]  # "AI" alone names nothing in particular
    return tuple({e.lower(): e for e in reversed(found) if e}.values())[::-1]



_CLAUSE = re.compile(r"(?:,\s*|\s+)(?:and|or|but)\s+(?=(?:what|who|when|where|which|how|why|is|are|was|were|did|does|do)\b)"
                     r"|;\s*", re.I)


def clauses(question: str) -> list[str]:
    """'How much does X cost, and what hardware can it run on?' -> its two questions."""
    parts = [p.strip() for p in _CLAUSE.split(question) if p and p.strip()]
    return parts or [question]


_AUXILIARIES = frozenset("did does do is are was were has have had can could will would should".split())
_WH = frozenset("what which who whom whose when where why how".split())
# "Between the March report and the April one, was there ...?", "Considering ..., did ...?"
_LATE_AUXILIARY = re.compile(r",\s*(?:did|does|do|is|are|was|were|has|have|had)\s+(?:there|the|it|this|that|these|those|both|a|an|[A-Z])")


def is_polar(question: str) -> bool:
    """A yes/no question: it opens with an auxiliary ("Did ...", "Is there ..."), or puts one
    after an opening clause ("Between A and B, was there ...?"), and asks no wh- question."""
    words = re.findall(r"[A-Za-z']+", question)
    if not words or not question.rstrip().endswith("?"):
        return False
    first = words[0].lower()
    if first in _AUXILIARIES:
        return True
    return first not in _WH and bool(_LATE_AUXILIARY.search(question))


# -- outlets the question names --------------------------------------------------------------

@dataclass(frozen=True)
class OutletMention:
    """A phrase of the question that names an outlet, and the archive's outlet it names
    (None: an outlet the archive does not hold)."""

    phrase: str
    outlet: str | None


def mention_starts(question: str, mentions: Iterable[OutletMention]) -> list[int]:
    """Where each outlet mention starts in the question, in the order `mentions` has them."""
    starts, cursor = [], 0
    for mention in mentions:
        at = question.find(mention.phrase, cursor)
        starts.append(at if at >= 0 else cursor)
        cursor = at + len(mention.phrase) if at >= 0 else cursor
    return starts


# A capitalised run (allowing "of", "the", "&" and "|" inside: "The Roar | Sports Writers Blog").
_CAPITALISED_RUN = re.compile(r"[A-Z][\w&.'’-]*(?:\s+(?:[A-Z][\w&.'’-]*|of|the|&|\||-))*")
# What makes a run an outlet: "a Bloomberg report", "The Verge's article", "according to Reuters".
_OUTLET_AFTER = re.compile(r"\s*(?:['’]s\s+)?(?:[\w-]+\s+){0,2}?(?:article|report|piece|review|story|coverage|"
                           r"analysis|post|blog|column|editorial|feature|interview|investigation|op-ed)s?\b", re.I)
# "both articles from X", "two reports by X", "X's articles": more than one of its articles.
_SEVERAL_FROM = re.compile(r"\b(?:both|two)\s+(?:\w+\s+){0,2}?(?:articles|reports|pieces|stories)\s+(?:from|by|in|of)\s+(?:the\s+)?$"
                           r"|\b(?:articles|reports|pieces|stories)\s+(?:from|by|of)\s+(?:the\s+)?$", re.I)
_SEVERAL_AFTER = re.compile(r"\s*(?:['’]s\s+)?(?:\w+\s+){0,1}?(?:articles|reports|pieces|stories)\b", re.I)
# Not "according to" or a bare "by": people are quoted and write ("according to Megan Grey in The Age").
_OUTLET_BEFORE = re.compile(r"\b(?:reported by|published by|carried by|from)\s+(?:the\s+)?$", re.I)
# "What did Nvidia report?", "Will Apple post ...": after an auxiliary the run is the subject
# and the cue word its verb, so no outlet is named.
_SUBJECT_OF_VERB = re.compile(r"\b(?:did|does|do|will|would|can|could|should|might|may)\s+(?:not\s+)?$", re.I)
_OUTLET_NOISE = frozenset({"the", "a", "an", "news", "com", "and", "of", "&", "|", "-"})


_DATE_WORDS = frozenset(MONTHS) | frozenset(WEEKDAYS.split("|"))
_LEADING_WORDS = _WH_AUX | frozenset("after before between considering following during while although since both "
                                     "which given based regarding this that these those".split())


def _outlet_tokens(name: str) -> frozenset[str]:
    return frozenset(t for t in re.findall(r"[a-z0-9]+", name.lower()) if t not in _OUTLET_NOISE)


def outlet_mentions(question: str, outlets: Iterable[str]) -> list[OutletMention]:
    """The outlets a question names, in the question's order, matched to the archive's
    `outlets` by their words ("BBC News" names "BBC News - Entertainment & Arts"; "the New
    York Times" names "The New York Times"), and the phrases that read as an outlet the
    archive lacks ("a Bloomberg report"). An outlet's full name written out is found first,
    whatever it holds: "'The Independent - Life and Style'" has a lowercase "and", where a
    capitalised run stops."""
    known = [(o, _outlet_tokens(o)) for o in outlets]
    found: list[tuple[int, OutletMention]] = []
    masked = question
    for outlet in sorted((o for o, w in known if w and o in question and _INNER_BREAK.search(o)), key=len, reverse=True):
        for match in re.finditer(rf"(?<!\w){re.escape(outlet)}(?!\w)", masked):
            found += [(match.start(), m) for m in _counted(question, match, outlet, outlet)]
            masked = masked[:match.start()] + " " * len(outlet) + masked[match.end():]
    for match in _CAPITALISED_RUN.finditer(masked):
        run = match.group(0).strip(" -|&'’").split()
        while run and run[0].lower() in _LEADING_WORDS:
            run = run[1:]  # "After the Verge report": the run starts at a sentence's first word
        phrase = " ".join(run)
        words = _outlet_tokens(phrase)
        if not words or words <= _DATE_WORDS:
            continue
        before = question[max(0, match.start() - 30):match.start()]
        cue = (bool(_OUTLET_AFTER.match(question, match.end())) and not _SUBJECT_OF_VERB.search(before)) or bool(
            _OUTLET_BEFORE.search(before))
        # The outlet's whole name, or part of it where the question says it is a publisher
        # ("a BBC News report"): "Millbrook" alone names the town, not the Millbrook Courier.
        # Of several, the one whose words differ least ("Cnbc | World Business News Leader"
        # is not "Business World"), then the shortest.
        named = [(len(words ^ w), len(o), o) for o, w in known if w and (words == w or (cue and (words <= w or w <= words)))]
        if named:
            found += [(match.start(), m) for m in _counted(question, match, phrase, min(named)[2])]
        elif cue and phrase.split()[0].lower() not in _WH | _AUXILIARIES:
            found.append((match.start(), OutletMention(phrase, None)))
    return [m for _, m in sorted(found, key=lambda pair: pair[0])]


# Inside an outlet's name, what ends a capitalised run: a lowercase word (not "of", "the"), or a quote.
_INNER_BREAK = re.compile(r"\s(?!(?:of|the)\b)[a-z]|['’\"]")


def _counted(question: str, match: re.Match, phrase: str, outlet: str) -> list[OutletMention]:
    """The mention, twice where the question speaks of more than one of its articles ("both
    articles from Sporting News")."""
    mention = OutletMention(phrase, outlet)
    several = _SEVERAL_FROM.search(question[max(0, match.start() - 40):match.start()]) or _SEVERAL_AFTER.match(
        question, match.end())
    return [mention, mention] if several else [mention]
