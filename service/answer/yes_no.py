"""The yes or no an extractive answer opens with, when its cited sentences determine one:
"did A report it before B?" from the two reports' dates; "were A and B consistent?" is a no
when the two sides give different figures for one quantity; "does A say N, while B says M?"
from the figures each side's article gives. The archive's silence is never a no, and a side
merely found is never a yes (`service.answer.short_answers` calls `yes_or_no`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from service.answer.analysis import mention_starts
from service.answer.assessment import AssessedSentence, Assessment
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
def _segments(a: Assessment) -> list[set[str]]:
    """Each outlet's part of the question, from its mention to the next one, as words: in
    "did A report X after B reported Y?", A's part is "A report X after", B's "B reported Y"."""
    starts = mention_starts(a.question, a.outlets) + [len(a.question)]
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
    refs = sorted([(start, i) for i, start in enumerate(mention_starts(a.question, a.outlets))]
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
