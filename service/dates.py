"""Dates as people write them: ISO 8601, epoch seconds, "Mon Mar 10 2025", and the
"Published On ..." datelines of article files. One grammar for files, filters and flags."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
DATELINE = re.compile(
    r"^\s*(?:published|posted|updated)(?:\s+on)?\s*:?\s*"
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
    r"(?:(?P<mon>[a-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
    r"|(?P<iso>\d{4}-\d{2}-\d{2}(?:[t ][0-9:.+\-z]+)?))",
    re.IGNORECASE,
)

def parse_date(value: Any) -> datetime | None:
    """ISO 8601 dates and datetimes, epoch seconds, or 'Mon Mar 10 2025'-style dates; naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed = datetime.fromtimestamp(value, tz=UTC)
    elif hasattr(value, "isoformat"):  # a date from YAML
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            match = DATELINE.match("published " + text)
            if not match or not match.group("mon"):
                raise ValueError(f"unrecognised date {text!r}; use ISO 8601, e.g. 2025-03-10") from None
            parsed = date_from_match(match)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def date_from_match(match: re.Match[str]) -> datetime:
    if match.group("iso"):
        return datetime.fromisoformat(match.group("iso").upper().replace("Z", "+00:00"))
    month = MONTHS.get(match.group("mon")[:3].lower())
    if month is None:
        raise ValueError(f"unrecognised month {match.group('mon')!r}")
    return datetime(int(match.group("year")), month, int(match.group("day")))
