"""The short answer an extractive answer opens with, when its cited sentences determine one:

- yes or no, for a yes/no question: "did A report it before B?" from the two reports' dates;
  "were A and B consistent?" from both sides being found and their figures agreeing; "does A
  say X?" is a yes only when each side the question names has a sentence that says it (the
  archive's silence is never a no);
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

# A side of the question counts as found when its best sentence scores at least this
# (the sentence model's probability that it holds the answer; set on MultiHop-RAG's
# development half, docs/evals.md has the split it was measured on).
SIDE_SUPPORT = 0.15
SIDE_COSINE = 0.5  # or a sentence this close to the question
_BEFORE = re.compile(r"\b(before|earlier than|prior to|preceded|preceding|first)\b", re.I)
_AFTER = re.compile(r"\b(after|later than|followed|following|subsequent(?:ly)?)\b", re.I)
_SAME = re.compile(r"\b(consisten\w*|same|similar\w*|agree\w*|both|also|align\w*|match\w*|remain\w*|uniform)\b", re.I)
_DIFFERENT = re.compile(r"\b(inconsisten\w*|differ\w*|change[ds]?|shift\w*|contradict\w*|conflict\w*|diverg\w*|"
                        r"discrepan\w*|contrast\w*)\b", re.I)
_NEGATED = re.compile(r"\b(no|not|never|without)\s+(?:\w+\s+){0,2}?(change|shift|differ\w*|inconsisten\w*)", re.I)
_MONEY = re.compile(r"[$€£¥]\s?\d[\d,.]*(?:\s?(?:billion|million|trillion|bn|m)\b)?|\d[\d,.]*\s?(?:billion|million|trillion)?"
                    r"\s?(?:dollars|euros|pounds|percent|%)", re.I)
_NUMBER = re.compile(r"\d[\d,.]*(?:\s?(?:billion|million|thousand|trillion|percent|%))?")
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

def _sides(a: Assessment, picked: Sequence[AssessedSentence]) -> list[AssessedSentence | None]:
    """For each outlet the question names, in the order it names them, its best sentence (None:
    that side is not found). An outlet named twice ("between the TechCrunch report on X and the
    TechCrunch report on Y") is two of its articles."""
    out: list[AssessedSentence | None] = []
    used: set[str] = set()
    for mention in a.outlets:
        mine = [s for s in a.sentences if mention.outlet is not None and a.passages[s.n - 1].article_id not in used
                and (a.passages[s.n - 1].outlet == mention.outlet
                     or any(c.outlet == mention.outlet for c in a.passages[s.n - 1].corroborated_by))]
        best = max(mine, key=lambda s: s.score, default=None)
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
    if len(sides) >= 2 and (_BEFORE.search(text) or _AFTER.search(text)):
        return _in_order(sides, after=bool(_AFTER.search(text)) and not _BEFORE.search(text))
    if _SAME.search(text) or _DIFFERENT.search(text):
        return _consistent(a, [s for s in sides if s] or list(picked[:2]), text)
    if not sides:  # no outlet named: the question's own named things must be in the answering sentence
        return "Yes" if picked[0].score >= SIDE_SUPPORT and picked[0].evidence.entities >= 0.5 else None
    return "Yes"  # every side the question names has a sentence that speaks to it


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


def figure(a: Assessment, picked: Sequence[AssessedSentence]) -> str | None:
    """The figure of the sentence that answers, nearest the thing counted or priced: the
    first cited one that holds a figure of that kind about the question's named things (the
    extractive answer puts a correction first)."""
    answering = [s for s in picked if s.evidence.typed and s.evidence.focused
                 and all(entity_found(e, f"{s.text} {s.candidate.context} {s.candidate.outlet}", whole=True)
                         for e in a.analysis.entities)]
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
