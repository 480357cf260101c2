"""The short answer an extractive answer opens with, when its cited sentences determine one:

- yes or no, for a yes/no question (`service.answer.yes_no`);
- the name, for "which company / who" questions, when the cited sentences name the same one;
- the figure, for "how much / how many" questions, from the sentence that answers.

Otherwise there is none (`None`), and the answer's notes say which side the archive lacks.

With an LLM configured, the model reads the sources itself: its prompt (answer.v2) has it open
a yes/no answer with "Yes." or "No." when the sources settle it, and `reply_yes_or_no` reads
that opening into the same field.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from service.answer.analysis import PRICING_FOCUS
from service.answer.assessment import AssessedSentence, Assessment
from service.answer.evidence import CURRENCY_WORDS, NOT_NAMES, entity_found
from service.answer.yes_no import yes_or_no
from service.text import tokenize

_MONEY = re.compile(r"[$€£¥]\s?\d[\d,.]*(?:\s?(?:billion|million|trillion|bn|m)\b)?|\d[\d,.]*\s?(?:billion|million|trillion)?"
                    rf"\s?(?:{CURRENCY_WORDS}|pounds?|percent|%)(?!\w)", re.I)
_NUMBER = re.compile(r"\d[\d,.]*(?:\s?(?:billion|million|thousand|trillion|percent|%))?"
                     r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a dozen|dozens|hundreds|"
                     r"thousands)\b(?:\s+(?:hundred|thousand|million|billion))?", re.I)
_NAME = re.compile(r"(?<![\w'’])[A-Z][\w&'’.-]*[\w](?:\s+(?:of\s+|de\s+|&\s+)?[A-Z][\w&'’.-]*[\w])*")


def short_answer(a: Assessment, picked: Sequence[AssessedSentence], missing: Sequence[str]) -> str | None:
    """`missing`: the things the question names that no retrieved sentence speaks to (the
    answer's note names them). A yes or no, or a figure, needs every one of them. A name
    does not: "Which company, reported by A, was compared to GPT-3.5 and sued by B?" is
    answered by the name the cited sentences agree on (`name` asks at least two of them, the
    best cited one among them) while the note says the archive has nothing on GPT-3.5. On
    MultiHop-RAG's development half, where the rule was written, 54 of 86 names against 51,
    none wrong added; held-out news sets 1 and 2 (no such question in them) unchanged."""
    q = a.analysis
    if not picked:
        return None
    asks_a_name = (q.kind in ("person", "name") or bool(_ASKS_FOR_A_NAME.match(q.text))) and not asks_for_several(q.text)
    if missing and (q.polar or q.kind in ("count", "money") or not asks_a_name):
        return None
    if q.polar:
        return yes_or_no(a, picked)
    if q.kind in ("count", "money"):
        return figure(a, picked)
    return name(a, picked) if asks_a_name else None


# "Yes." / "No, ..." / "Yes —": the reply's first word, then punctuation (not "No one was hurt").
_REPLY_OPENING = re.compile(r"\s*(yes|no)\b(?=\s*[.,;:!—–-])", re.I)
# "No, the sources do not say whether ...": an opening that says the sources leave it open.
_UNSETTLED = re.compile(r"\b(?:the\s+)?(?:sources|articles|archive)\b[^.]*?\b(?:do|does)\s*(?:not|n['’]t)\b|"
                        r"\bnot\s+(?:clear|stated|settled)\b|\b(?:cannot|can['’]t)\s+(?:tell|say|determine)\b", re.I)


def reply_yes_or_no(polar: bool, opening: str) -> str | None:
    """The short answer of an LLM's reply to a yes/no question: "Yes" or "No" when its opening
    sentence (markers stripped) starts with one, and does not go on to say the sources leave
    it open ("No, the sources do not say whether ..."). None for any other question: "No one
    was hurt [1]" answers a "who" question, not a yes/no one."""
    if not polar:
        return None
    found = _REPLY_OPENING.match(opening)
    if not found or _UNSETTLED.search(opening):
        return None
    return found.group(1).capitalize()


def lacks_the_figure(a: Assessment, short: str | None) -> bool:
    """"How much severance did she receive?" answered extractively with no figure: the
    sentences found speak of the subject but give no amount of what is asked (or give one
    of another thing: a refit budget, another ballot measure's votes). Leading with them
    would pass off a figure the reader did not ask for, so the answer is a refusal. Only
    for one-part questions that ask for one figure; an LLM reads the sources itself. (The
    same rule for names, "which company ...?" with no name found, refused 67% of a blind
    news set's null questions against 25%, but raised false refusals on MultiHop-RAG's
    development half from 1.8% to 5.5% and on that set from 2.6% to 10.5%: the name reader
    misses too many right names for its silence to mean the archive's.)"""
    q = a.analysis
    return q.kind in ("count", "money") and not short and len(a.clauses) == 1 and not asks_for_several(q.text)


_VERBS = frozenset("is are was were has have had did does do can could will would should that which who".split())


def asks_for_several(question: str) -> bool:
    """"Which senior leaders left ...?", "Which non-OpenAI models has it tested?": the noun after
    which/what is plural, so several names are asked for, not one."""
    words = re.findall(r"[\w'’-]+", question.lower())
    if len(words) < 2 or words[0] not in ("which", "what"):
        return False
    nouns = []
    for word in words[1:4]:
        if word in _VERBS:
            break
        nouns.append(word)
    return any(n.endswith("s") and not n.endswith(("ss", "us", "is", "news")) for n in nouns)


# "Which rugby team ...", "What company is ...", "What are the entities that ...": a name is
# asked for (not "What is ...", which asks for anything).
_ASKS_FOR_A_NAME = re.compile(r"\s*(?:which\s+\w+|what\s+(?!is\b|are\b|was\b|were\b|does\b|did\b|do\b|has\b|have\b)\w+"
                              r"(?:\s+\w+)?\s+(?:is|are|was|were|has|had|have|did|does|do|that|which|,))", re.I)


def _names(sentence: str) -> list[str]:
    """Runs of capitalised words, cut after a possessive ("Amazon Anthropic's" is two names)."""
    found = []
    for match in _NAME.finditer(sentence):
        run: list[str] = []
        for word in match.group(0).split() + [""]:
            if word and not (not run and word.lower() in NOT_NAMES):
                run.append(re.sub(r"['’]s$", "", word))
            if run and (not word or re.search(r"['’]s$", word)):
                found.append(" ".join(run))
                run = []
    return found


def _unasked(names: Sequence[str], asked: str) -> list[str]:
    """The names with the words the question gives taken out ("Amazon Anthropic" asked about
    Anthropic leaves "Amazon")."""
    out = []
    for n in names:
        part: list[str] = []
        for word in n.split() + [""]:
            if word and not re.search(rf"\b{re.escape(word.lower())}\b", asked):
                part.append(word)
            elif part:
                out.append(" ".join(part))
                part = []
    return out


def name(a: Assessment, picked: Sequence[AssessedSentence]) -> str | None:
    """The name the cited and best-scored sentences agree on: not one the question gives, not
    an outlet, named in at least two of them (a short form, "Bankman-Fried", counting for its
    long form), more often than any other."""
    outlets = {p.outlet for p in a.passages if p.outlet}
    asked = a.question.lower()
    pool = list({id(s): s for s in [*picked, *(a.sentences[i] for i in a.ranked()[:5])]}.values())
    mentions: list[set[str]] = []
    for s in pool:
        found = {n for n in _unasked(_names(s.text), asked) if n not in outlets
                 and not any(entity_found(e, n) for e in a.analysis.entities)
                 and (a.analysis.kind != "person" or len(n.split()) >= 2 or "-" in n)}
        mentions.append(found)
    names = {n for found in mentions for n in found}
    # A name's count: the sentences naming it, or a part of it ("Bankman-Fried" in "Sam Bankman-Fried").
    counts = Counter({n: sum(any(m == n or m in n.split() or m.split()[-1] == n.split()[-1] for m in found)
                             for found in mentions) for n in names})
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], -len(kv[0])))
    top, times = ranked[0]
    rivals = [n for n, t in ranked[1:] if t == times and n.split()[-1] != top.split()[-1]]
    # ... and the cited sentence the gate's sentence model rates best names it too (or its short
    # form): a name that only stands beside the question's names ("Sutskever, who started
    # OpenAI with Greg Brockman ...") is no answer to "who replaced Sutskever?".
    best = max((i for i, s in enumerate(pool) if s in picked), key=lambda i: pool[i].score, default=None)
    lead = mentions[best] if best is not None else set()
    if times < 2 or rivals or not any(m == top or m.split()[-1] == top.split()[-1] for m in lead):
        return None
    return top


def _prices_the_thing(a: Assessment, sentence: str) -> bool:
    """"How much will the cheapest season ticket cost?" asks the price of a thing the question
    names, which the answering sentence may give without the verb ("the cheapest adult
    season ticket will rise to $745"): an amount in a sentence that holds most of the
    question's own words. Not when the question names what is priced by a noun of its own
    ("how much severance"): then that noun must be there."""
    q = a.analysis
    if q.kind != "money" or not q.focus <= PRICING_FOCUS or not q.terms:
        return False
    return len(q.terms & set(tokenize(sentence))) >= 0.5 * len(q.terms)


_PERIOD = re.compile(r"\b(first|second|third|fourth|1st|2nd|3rd|4th)[-\s]+(quarter|half)\b|\b([QH])([1-4])\b", re.I)
_ORDINAL = {"first": "1", "1st": "1", "second": "2", "2nd": "2", "third": "3", "3rd": "3", "fourth": "4", "4th": "4"}


def _periods(text: str) -> set[str]:
    """The quarters and halves a text names, as "q3", "h1": a loss "in the second quarter"
    does not answer "how much did it lose in the third quarter?"."""
    out = set()
    for m in _PERIOD.finditer(text):
        if m.group(1):
            out.add(m.group(2)[0].lower() + _ORDINAL[m.group(1).lower()])
        else:
            out.add(m.group(3).lower() + m.group(4))
    return out


def _about_the_named(a: Assessment, s: AssessedSentence) -> bool:
    """Every thing the question names (its outlets aside: each sentence has one outlet; its
    quarters aside: `_periods` reads those) is in
    the sentence, its neighbour, its title, or the rest of its article retrieved: the
    sentence is about the question's subject, not about a sibling (Measure K for Measure J)."""
    outlets = [m.phrase.lower() for m in a.outlets]
    article = a.passages[s.n - 1].article_id
    near = f"{s.text} {s.candidate.context} {s.candidate.outlet}"
    rest = " ".join(p.text for p in a.passages if p.article_id == article)
    return all(entity_found(e, near, whole=True) or entity_found(e, rest, whole=True)
               for e in a.analysis.entities
               if not _PERIOD.fullmatch(e) and not any(e.lower() in o or o in e.lower() for o in outlets))


def figure(a: Assessment, picked: Sequence[AssessedSentence]) -> str | None:
    """The figure of the sentence that answers, nearest the thing counted or priced: the
    first cited one that holds a figure of that kind about the question's named things (the
    extractive answer puts a correction first)."""
    asked = _periods(a.question)
    answering = [s for s in picked if s.evidence.typed and (s.evidence.focused or _prices_the_thing(a, s.text))
                 and _about_the_named(a, s) and (not asked or not (said := _periods(s.text)) or asked & said)]
    if not answering:
        return None
    s = answering[0]
    pattern = _MONEY if a.analysis.kind == "money" else _NUMBER
    matches = [m for m in pattern.finditer(s.text) if not re.fullmatch(r"(19|20)\d\d", m.group(0).strip())]
    if not matches:
        return None
    focus = [m.start() for f in a.analysis.focus for m in re.finditer(re.escape(f), s.text.lower())]
    best = min(matches, key=lambda m: min((abs(m.start() - f) for f in focus), default=0))
    return best.group(0).strip().rstrip(".,")
