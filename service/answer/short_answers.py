"""The short answer an extractive answer opens with, when its cited sentences determine one:

- yes or no, for a yes/no question: "did A report it before B?" from the two reports' dates;
  "were A and B consistent?" is a no when the two sides give different figures for one
  quantity; "does A say N, while B says M?" from the figures each side's article gives (the
  archive's silence is never a no, and a side merely found is never a yes);
- the name, for "which company / who" questions, when the cited sentences name the same one;
- the figure, for "how much / how many" questions, from the sentence that answers.

Otherwise there is none (`None`), and the answer's notes say which side the archive lacks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from service.answer.assessment import AssessedSentence, Assessment
from service.answer.evidence import entity_found
from service.text import tokenize

# A side of the question counts as found when its best sentence scores at least this
# (the sentence model's probability that it holds the answer; set on MultiHop-RAG's
# development half, docs/evals.md has the split it was measured on).
SIDE_SUPPORT = 0.15
SIDE_COSINE = 0.5  # or a sentence this close to the question
_BEFORE = re.compile(r"\b(before|earlier than|prior to|preceded|preceding)\b", re.I)
_AFTER = re.compile(r"\b(after|later than|followed|following|subsequent(?:ly)?)\b", re.I)
_SAME = re.compile(r"\b(consisten\w*|same|similar\w*|agree\w*|both|also|align\w*|match\w*|remain\w*|uniform)\b", re.I)
_DIFFERENT = re.compile(r"\b(inconsisten\w*|differ\w*|change[ds]?|shift\w*|contradict\w*|conflict\w*|diverg\w*|"
                        r"discrepan\w*|contrast\w*)\b", re.I)
_NEGATED = re.compile(r"\b(no|not|never|without)\s+(?:\w+\s+){0,2}?(change|shift|differ\w*|inconsisten\w*)", re.I)
_MONEY = re.compile(r"[$€£¥]\s?\d[\d,.]*(?:\s?(?:billion|million|trillion|bn|m)\b)?|\d[\d,.]*\s?(?:billion|million|trillion)?"
                    r"\s?(?:dollars?|euros?|pounds?|yen|yuan|francs?|pesos?|rupees?|kronor|usd|eur|gbp|percent|%)(?!\w)", re.I)
_NUMBER = re.compile(r"\d[\d,.]*(?:\s?(?:billion|million|thousand|trillion|percent|%))?"
                     r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a dozen|dozens|hundreds|"
                     r"thousands)\b(?:\s+(?:hundred|thousand|million|billion))?", re.I)
_NAME = re.compile(r"(?<![\w'’])[A-Z][\w&'’.-]*[\w](?:\s+(?:of\s+|de\s+|&\s+)?[A-Z][\w&'’.-]*[\w])*")
_NOT_NAMES = frozenset("the a an in on at by for its his her their this that these those but and after before when "
                       "while under over since until from with it he she they we i monday tuesday wednesday thursday "
                       "friday saturday sunday january february march april may june july august september october "
                       "november december".split())


def short_answer(a: Assessment, picked: Sequence[AssessedSentence], missing: Sequence[str]) -> str | None:
    q = a.analysis
    if missing or not picked:
        return None
    if q.polar:
        return yes_or_no(a, picked)
    if q.kind in ("count", "money"):
        return figure(a, picked)
    if (q.kind in ("person", "name") or _ASKS_FOR_A_NAME.match(q.text)) and not asks_for_several(q.text):
        return name(a, picked)
    return None


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


# -- yes / no -----------------------------------------------------------------------------------

def _mention_starts(a: Assessment) -> list[int]:
    """Where each outlet mention starts in the question (in the order `a.outlets` has them)."""
    starts, cursor = [], 0
    for mention in a.outlets:
        at = a.question.find(mention.phrase, cursor)
        starts.append(at if at >= 0 else cursor)
        cursor = at + len(mention.phrase) if at >= 0 else cursor
    return starts


def _segments(a: Assessment) -> list[set[str]]:
    """Each outlet's part of the question, from its mention to the next one, as words: in
    "did A report X after B reported Y?", A's part is "A report X after", B's "B reported Y"."""
    starts = _mention_starts(a) + [len(a.question)]
    return [set(tokenize(a.question[starts[i]:starts[i + 1]])) for i in range(len(a.outlets))]


def _sides(a: Assessment, picked: Sequence[AssessedSentence]) -> list[AssessedSentence | None]:
    """For each outlet the question names, in the order it names them, its best sentence (None:
    that side is not found). An outlet named twice ("between the TechCrunch report on X and the
    TechCrunch report on Y") is two of its articles. With two or more outlets, each side's
    sentence is also weighed by how much of that outlet's own part of the question it holds:
    "did A report X after B reported Y?" wants A's report of X, not A's best sentence for the
    whole question."""
    out: list[AssessedSentence | None] = []
    used: set[str] = set()
    parts = _segments(a) if len(a.outlets) > 1 else [set() for _ in a.outlets]
    for mention, part in zip(a.outlets, parts, strict=True):
        mine = [s for s in a.sentences if mention.outlet is not None and a.passages[s.n - 1].article_id not in used
                and (a.passages[s.n - 1].outlet == mention.outlet
                     or any(c.outlet == mention.outlet for c in a.passages[s.n - 1].corroborated_by))]
        words = part - set(tokenize(mention.phrase))

        def weight(s: AssessedSentence, words: set[str] = words) -> float:
            held = len(words & set(tokenize(f"{s.text} {a.passages[s.n - 1].title}"))) / len(words) if words else 0.0
            return s.score + held

        best = max(mine, key=weight, default=None)
        found = best is not None and (best.score >= SIDE_SUPPORT or best.cosine >= SIDE_COSINE)
        out.append(best if found else None)
        if best is not None and found:
            used.add(a.passages[best.n - 1].article_id)
    return out


def yes_or_no(a: Assessment, picked: Sequence[AssessedSentence]) -> str | None:
    sides = _sides(a, picked)
    if any(s is None for s in sides):
        return None  # a side the archive does not answer: the notes say which
    text = a.question
    if len(sides) >= 2 and asks_which_came_first(text):
        return _in_order(sides, after=bool(_AFTER.search(text)) and not _BEFORE.search(text))
    found = [s for s in sides if s]
    if found and not _DIFFERENT.search(text) and not re.search(r"\bconsisten", text, re.I):
        said = figures_said(a, found, text)
        if said:
            return said
    if _SAME.search(text) or _DIFFERENT.search(text):
        return _consistent(a, found or list(picked[:2]), text)
    # Each side found is not each side saying what the question says: extractively nothing
    # reads that, beyond figures. (Answering "Yes" whenever both sides were found was right
    # 7 times and wrong 6 on MultiHop-RAG's development half, and 6 and 7 on a news set
    # written for this check: a coin.)
    return None


# "After the March report, and the April one, was the coverage consistent?": a question that
# opens with its time frame asks about what was reported within it, not which came first.
_OPENING_FRAME = re.compile(r"\s*(?:after|before|following|prior to|between|since|until)\b", re.I)


def asks_which_came_first(question: str) -> bool:
    """"Did A report X before B reported Y?" asks for the order of two reports. A question
    that asks whether they agreed or changed ("After A ..., was B consistent?"), or that only
    opens with a time frame, asks about their content, and their dates do not answer it."""
    return bool((_BEFORE.search(question) or _AFTER.search(question)) and not _SAME.search(question)
                and not _DIFFERENT.search(question) and not _OPENING_FRAME.match(question))


_STATED_FIGURE = re.compile(r"([$€£])?(\d[\d,]*(?:\.\d+)?)(?:\s?(%|percent|billion|million|trillion|thousand)\b|%)?", re.I)


def figure_keys(text: str) -> list[tuple[int, tuple[str, str]]]:
    """(position, (number, scale)) of each figure in `text`: "$2.7 million" and "2.7 million"
    are ("2.7", "million"), "38,500" is ("38500", ""). Years and one- or two-digit numbers
    (days, small counts, which dates and ordinals blur) are left out."""
    out = []
    for m in _STATED_FIGURE.finditer(text):
        number = m.group(2).replace(",", "").rstrip(".")
        scale = (m.group(3) or ("%" if m.group(0).endswith("%") else "")).lower().replace("percent", "%")
        if not m.group(1) and not scale and (re.fullmatch(r"(19|20)\d\d", number) or len(number.split(".")[0]) <= 2):
            continue
        out.append((m.start(), (number, scale)))
    return out


_GENERIC_OUTLET_WORDS = frozenset("the news daily press service media business journal report times world online "
                                  "network post review sports".split())


def _own_words(phrase: str) -> list[str]:
    """The words of an outlet's name that name it alone ("Meridian", "KVLM"), not "News"."""
    return [w for w in re.findall(r"[\w'-]+", phrase) if len(w) >= 4 and w.lower() not in _GENERIC_OUTLET_WORDS]


def figures_said(a: Assessment, sides: Sequence[AssessedSentence], question: str) -> str | None:
    """"Does A say 41,000 rides were taken, while B says 38,500?": each figure the question
    gives is checked in the retrieved text of the article found for the outlet it is given
    for: the outlet named before it. An outlet followed by no figure of its own takes the
    next one's ("did A and B report N?"); a figure before any outlet is every outlet's.
    "No" when an article lacks its figure and gives another of the same scale instead; "Yes"
    when every outlet has figures and every article holds them; otherwise None."""
    stated = figure_keys(question)
    if not stated or len(sides) != len(a.outlets):
        return None
    # Where each outlet is referred to: its mention, and later its name's own word ("..., with
    # Meridian putting the grant at $6.2 million and KVLM at $6 million").
    refs = sorted([(start, i) for i, start in enumerate(_mention_starts(a))]
                  + [(m.start(), i) for i, mention in enumerate(a.outlets) for word in _own_words(mention.phrase)
                     for m in re.finditer(rf"\b{re.escape(word)}\b", question)])
    wanted: list[set[tuple[str, str]]] = [set() for _ in sides]
    for at, key in stated:
        before = [i for start, i in refs if start <= at]
        for i in (before[-1:] if before else range(len(sides))):
            wanted[i].add(key)
    for i in range(len(sides) - 2, -1, -1):
        if not wanted[i]:
            wanted[i] = set(wanted[i + 1])
    verdicts = []
    for side, keys in zip(sides, wanted, strict=True):
        article = a.passages[side.n - 1].article_id
        have = {key for p in a.passages if p.article_id == article for _, key in figure_keys(p.text)}
        missing = keys - have
        if missing and any(h[1] == k[1] for k in missing for h in have):
            return "No"
        verdicts.append(bool(keys) and not missing)
    return "Yes" if all(verdicts) else None


def _in_order(sides: Sequence[AssessedSentence | None], *, after: bool) -> str | None:
    """"Did A ... before B ...?": A's report against B's, by their dates."""
    first, second = sides[0], sides[1]
    if first is None or second is None:
        return None
    d1, d2 = first.candidate.published, second.candidate.published
    if not d1 or not d2 or d1 == d2:
        return None
    return "Yes" if (d1 > d2 if after else d1 < d2) else "No"


def _consistent(a: Assessment, sides: Sequence[AssessedSentence], text: str) -> str | None:
    """"Were A and B consistent / did it change?": determined only when the two sides give
    different figures for one quantity (then they were not consistent). Both merely found is
    not agreement: extractively, nothing reads whether two sentences say the same thing
    (on MultiHop-RAG's development half that guess was right 18 times and wrong 17)."""
    from service.answer.conflicts import figure_disagreement

    if len(sides) < 2 or not figure_disagreement([(s.n, s.text) for s in sides], a.passages):
        return None
    asks_difference = bool(_DIFFERENT.search(text)) and not _NEGATED.search(text)
    return "Yes" if asks_difference else "No"


# -- a name or a figure --------------------------------------------------------------------------

def _names(sentence: str) -> list[str]:
    """Runs of capitalised words, cut after a possessive ("Amazon Anthropic's" is two names)."""
    found = []
    for match in _NAME.finditer(sentence):
        run: list[str] = []
        for word in match.group(0).split() + [""]:
            if word and not (not run and word.lower() in _NOT_NAMES):
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


_PRICING_VERBS = frozenset({"cost", "price", "pay", "paid", "charg", "per-token", "fee"})


def _prices_the_thing(a: Assessment, sentence: str) -> bool:
    """"How much will the cheapest season ticket cost?" asks the price of a thing the question
    names, which the answering sentence may give without the verb ("the cheapest adult
    season ticket will rise to $745"): an amount in a sentence that holds most of the
    question's own words. Not when the question names what is priced by a noun of its own
    ("how much severance"): then that noun must be there."""
    q = a.analysis
    if q.kind != "money" or not q.focus <= _PRICING_VERBS or not q.terms:
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
