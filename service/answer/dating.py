"""When a reported event happened, from the sentence that reports it: "on Monday", "on
October 7", "on Thursday, August 1, 2024", "yesterday", read against the article's own date.

A news sentence dates its event relative to the day it was written. A weekday is the last
such day on or before publication ("said on Tuesday" in Wednesday's paper). A date is
trusted only near publication: from two weeks before (an event being reported) to three
days after (one announced for tomorrow). Anything further is another event the sentence
mentions (an earlier ruling, a deadline next year), so the step keeps its article's date.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_MONTH = re.compile(rf"\b{_MONTH}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+((?:19|20)\d\d)\b)?", re.I)
_WEEKDAY = re.compile(r"\b(?:on|early on|late on|since|until|by)\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
                      r"(?:'s)?\b(?!,?\s+" + _MONTH + r")", re.I)
_RELATIVE = re.compile(r"\b(yesterday|today|this morning|tonight|last night)\b", re.I)
_BEFORE = timedelta(days=14)
_AFTER = timedelta(days=3)


def _month(name: str) -> int:
    return next(i for i, m in enumerate(_MONTHS, start=1) if m.startswith(name.lower()[:3]))


def _explicit(sentence: str, published: date) -> date | None:
    """The first month-and-day in the sentence, in the article's year unless it names one
    (a December report of "January 3" without a year means the January before)."""
    match = _DAY_MONTH.search(sentence)
    if match is None:
        return None
    month, day, year = _month(match.group(1)), int(match.group(2)), match.group(3)
    try:
        found = date(int(year) if year else published.year, month, day)
    except ValueError:  # "February 30"
        return None
    if not year and found > published + _AFTER:
        found = found.replace(year=found.year - 1)
    return found


def _weekday(sentence: str, published: date) -> date | None:
    match = _WEEKDAY.search(sentence)
    if match is None:
        return None
    back = (published.weekday() - _WEEKDAYS.index(match.group(1).lower())) % 7
    return published - timedelta(days=back)


def _relative(sentence: str, published: date) -> date | None:
    match = _RELATIVE.search(sentence)
    if match is None:
        return None
    return published - timedelta(days=1) if match.group(1).lower() == "yesterday" else published


def event_date(sentence: str, published: date | None) -> date | None:
    """The day the sentence says its event happened, or None when it says none (or one too
    far from `published` to be this report's event). Without a publication date only a
    full date with its year is read."""
    if published is None:
        match = _DAY_MONTH.search(sentence)
        return _explicit(sentence, date.min) if match and match.group(3) else None
    for reader in (_explicit, _weekday, _relative):
        found = reader(sentence, published)
        if found is not None:
            return found if published - _BEFORE <= found <= published + _AFTER else None
    return None


def published_day(iso: str | None) -> date | None:
    """'2024-10-08T09:00:00+00:00' -> date(2024, 10, 8); None when absent or not a date."""
    try:
        return date.fromisoformat((iso or "")[:10])
    except ValueError:
        return None
