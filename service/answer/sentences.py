"""The sentences of retrieved sources that could be quoted as an answer: datelines and
bylines trimmed off the front (offsets kept exact), headlines, subheads and text that
reads as instructions to a model left out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.answer.safety import reads_as_instruction
from service.models import Passage
from service.text import sentence_spans

# "PORT ALDER —", "BRUSSELS, Aug 1 (Meridian Press Agency) —", "By Jane Doe —", "WASHINGTON (AP) --":
# a place in capitals (or a byline), an optional date and agency, then a dash.
_DATELINE = re.compile(
    r"^(?:By\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}(?:,\s*[^—–\n]{0,60})?"
    r"|[A-Z][A-Z.'’-]+(?:[ /][A-Z][A-Z.'’-]+){0,3}"
    # ", Aug 1", ", Texas", ", Wash." (a state abbreviation with its stop), ", N.Y.", ", D.C."
    r"(?:,\s*(?:[A-Z][a-z]{2,9}\.?\s+\d{1,2}|[A-Z][a-z]+\.?(?:\s+[A-Z][a-z]+\.?)?|(?:[A-Z]\.){1,3}))?"
    r"(?:\s*\([^()\n]{1,60}\))?)"
    r"\s*(?:—|–|--|-)\s+")
_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)\]]*$")


_BULLET = re.compile(r"^[•·▪*–-]\s+")


def lead_length(sentence: str) -> int:
    """Characters of dateline, byline or list bullet at the start of `sentence` (0 when none)."""
    match = _DATELINE.match(sentence) or _BULLET.match(sentence)
    return match.end() if match else 0


def _folded(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def is_headline(sentence: str, title: str) -> bool:
    """The article's headline (or a part of it) repeated in its text: a title, not an
    answer ("Is Google Search better than the rest? And is that fair?")."""
    s, t = _folded(sentence), _folded(title)
    return bool(s) and bool(t) and (s == t or (len(s) > 15 and s in t))


@dataclass(frozen=True)
class Candidate:
    n: int  # the source's number, from 1
    start: int  # in the passage text, after any dateline
    end: int
    text: str
    context: str  # the article's title and the sentence before this one
    published: str  # the article's date (YYYY-MM-DD) or ""
    outlet: str = ""


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    out: list[Candidate] = []
    for n, passage in enumerate(passages, start=1):
        previous = ""
        for start, end in sentence_spans(passage.text):
            raw = passage.text[start:end]
            start += lead_length(raw)
            sentence = passage.text[start:end].strip()
            ok = (len(sentence.split()) >= 6 and _ENDS_SENTENCE.search(sentence) and not reads_as_instruction(raw)
                  and not is_headline(sentence, passage.title))
            if ok:
                outlets = [passage.outlet or ""] + [c.outlet or "" for c in passage.corroborated_by]
                out.append(Candidate(n, start, end, sentence, f"{passage.title}. {previous}",
                                     (passage.published_at or "")[:10], "; ".join(o for o in outlets if o)))
            previous = raw
    return out
