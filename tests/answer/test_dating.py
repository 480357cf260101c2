"""When a sentence says its event happened, read against its article's date."""

from __future__ import annotations

from datetime import date

import pytest

from service.answer.dating import event_date, published_day


@pytest.mark.parametrize(("sentence", "published", "expected"), [
    ("Kestrel Pay said on Tuesday that a ransomware attack caused the outage", date(2024, 10, 8), date(2024, 10, 8)),
    ("Card terminals stopped working early on Monday, leaving shops", date(2024, 10, 7), date(2024, 10, 7)),
    ("The Hallworth family is selling the club, the chairman announced on Tuesday.", date(2024, 1, 18),
     date(2024, 1, 16)),
    ("The law entered into force on Thursday, August 1, 2024, starting a timetable", date(2024, 8, 1),
     date(2024, 8, 1)),
    ("Obligations take effect on Saturday, August 2, 2025, a year after", date(2025, 8, 1), date(2025, 8, 2)),
    ("The snowpack measured on March 15 was 118% of normal", date(2025, 3, 18), date(2025, 3, 15)),
    ("A report said yesterday that prices rose", date(2025, 3, 18), date(2025, 3, 17)),
    # Too far from the report to be its event: a deadline, an old ruling.
    ("It set a deadline of September 30 for its final decision", date(2024, 3, 19), None),
    ("The water court ruled on November 27, 2023", date(2024, 10, 2), None),
    ("The company gave no figures", date(2024, 10, 2), None),
])
def test_the_event_date_is_read_near_the_article_date(sentence, published, expected):
    assert event_date(sentence, published) == expected


def test_a_date_without_a_year_in_january_reads_back_to_the_previous_december():
    assert event_date("The deal closed on December 30, the company said", date(2025, 1, 2)) == date(2024, 12, 30)


def test_an_undated_article_keeps_only_a_full_date():
    assert event_date("It happened on Monday", None) is None
    assert event_date("It happened on March 3, 2024.", None) == date(2024, 3, 3)


def test_published_day():
    assert published_day("2024-10-08T09:00:00+00:00") == date(2024, 10, 8)
    assert published_day(None) is None and published_day("soon") is None
