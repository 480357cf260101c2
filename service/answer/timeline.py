"""News ages: dates for answers about the latest state of something, and for questions
about what came before or after."""

from __future__ import annotations

import re
from datetime import date

_RECENCY_WORDS = re.compile(r"\b(latest|newest|most recent|current(ly)?|now|today|this (week|month|year))\b", re.I)


def format_date(iso: str) -> str:
    """'2025-08-28' -> 'August 28, 2025' ('' when it is not a date)."""
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return ""
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def speaks_of_now(sentence: str) -> bool:
    """Does the sentence speak of its own present ("the latest model", "currently")? It is
    true as of its article's date, not today's."""
    return bool(_RECENCY_WORDS.search(sentence))


def date_weights(dates: list[str]) -> list[float]:
    """1.0 for the newest date, 0.0 for the oldest, by rank (undated = oldest)."""
    ordered = sorted({d for d in dates if d})
    if len(ordered) < 2:
        return [1.0 if d else 0.0 for d in dates]
    rank = {d: i / (len(ordered) - 1) for i, d in enumerate(ordered)}
    return [rank.get(d, 0.0) for d in dates]


def dated(sentence: str, outlet: str | None, published: str) -> str:
    """'Bayline Tech, August 28, 2025: <sentence>'."""
    when = format_date(published)
    who = outlet or "An undated source" if not when else outlet or "A source"
    return f"{who}, {when}: {sentence}" if when else f"{who}: {sentence}"


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_PERIOD = re.compile(rf"\b(?:({'|'.join(_MONTHS)})\s+(?:\d{{1,2}},?\s+)?)?((?:19|20)\d\d)\b", re.I)


def mentioned_periods(question: str) -> list[str]:
    """Date prefixes a question names: 'in October 2024' -> ['2024-10'], 'in 2025' -> ['2025']."""
    out = []
    for month, year in _PERIOD.findall(question):
        out.append(f"{year}-{_MONTHS.index(month.lower()) + 1:02d}" if month else year)
    return out
