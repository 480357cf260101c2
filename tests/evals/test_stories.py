"""The timeline and follow evals: scoring, and the committed case files."""

from __future__ import annotations

from service.evals.follows import DEFAULT_FOLLOW_CASES, FollowOutcome, load_follow_cases
from service.evals.follows import summarise as summarise_follows
from service.evals.timelines import (
    DEFAULT_TIMELINE_CASES,
    GoldEvent,
    TimelineCase,
    kendall_tau,
    load_timeline_cases,
    score_timeline,
    summarise,
)
from service.models import ArticleRef, Citation, Timeline, TimelineStep


def step(article_id: str, date: str, quote: str = "Something happened.", copies=(), corrects=None) -> TimelineStep:
    citation = Citation(1, article_id, "T", "O", None, date, quote, 0, len(quote), 1.0)
    return TimelineStep(date, "article", citation, tuple(ArticleRef(c) for c in copies),
                        ArticleRef(corrects) if corrects else None)


CASE = TimelineCase("c", "corpus", "story", (
    GoldEvent(("a",), "2024-01-01", "first"), GoldEvent(("b", "b-reprint"), "2024-02-01", "second"),
    GoldEvent(("c",), "2024-03-01", "third"), GoldEvent(("fix",), "2024-03-05", "fix", correction_of="c")),
    copies=(("b", "b-reprint"),))


def test_kendall_tau():
    assert kendall_tau([0, 1, 2, 3]) == 1.0
    assert kendall_tau([3, 2, 1, 0]) == -1.0
    assert kendall_tau([0, 2, 1]) == 1 / 3
    assert kendall_tau([5]) == 1.0


def test_a_timeline_is_scored_on_order_coverage_citations_copies_and_corrections():
    texts = {"a": "Something happened.", "b-reprint": "Something happened.", "c": "Something happened.",
             "fix": "Something happened.", "other": "Other text"}
    timeline = Timeline("story", (step("a", "2024-01-01"), step("c", "2024-03-01"),
                                  step("b-reprint", "2024-02-01", copies=("b",)), step("other", "2024-04-01", "x"),
                                  step("fix", "2024-03-05", corrects="c")))
    score = score_timeline(CASE, timeline, texts)
    assert score.coverage == 1.0 and score.extra == 1 and score.steps == 5
    assert score.tau == (5 - 1) / 6  # one pair (c before b) out of order
    assert score.cited == 4 / 5  # the "other" step's quote is not its article's text
    assert score.copies == 1.0 and score.corrections == 1.0


def test_a_missed_event_and_an_uncorrected_step():
    score = score_timeline(CASE, Timeline("story", (step("a", "2024-01-01"), step("fix", "2024-03-05"))),
                           {"a": "Something happened.", "fix": "Something happened."})
    assert score.coverage == 0.5 and score.missed == ["second", "third"] and score.corrections == 0.0
    assert score.copies == 0.0  # neither copy shown


def test_the_committed_cases_load():
    timelines = load_timeline_cases(DEFAULT_TIMELINE_CASES)
    assert len(timelines) == 9 and sum(len(c.events) for c in timelines) == 57
    held_out = load_timeline_cases(DEFAULT_TIMELINE_CASES.with_name("heldout.jsonl"))
    assert len(held_out) == 5 and sum(len(c.events) for c in held_out) == 60
    follows = load_follow_cases(DEFAULT_FOLLOW_CASES)
    assert len(follows) == 5 and all(any(f["notified"] for f in c.follows) for c in follows)


def test_follow_outcomes_are_summarised():
    outcomes = [FollowOutcome("c", "q1", True, True, True, True, True),
                FollowOutcome("c", "q2", False, True, True), FollowOutcome("c", "q3", False, False, False),
                FollowOutcome("c", "q4", True, False, True)]
    summary = summarise_follows(outcomes)
    assert summary["notified_precision"] == 0.5 and summary["notified_recall"] == 0.5
    assert summary["false_notices"] == 1 and summary["kinds"] == 1.0 and summary["reanswered"] == 0.75


def test_a_summary_of_cases_without_gold_corrections_reports_none_rather_than_zero():
    plain = TimelineCase("p", "corpus", "story", (GoldEvent(("a",), "2024-01-01", "first"),))
    summary = summarise([score_timeline(plain, Timeline("story", (step("a", "2024-01-01"),)),
                                        {"a": "Something happened."})])
    assert summary["coverage"] == 1.0 and summary["corrections"] is None and summary["copies"] is None
    assert summarise([score_timeline(CASE, Timeline("story", (step("a", "2024-01-01"),)),
                                     {"a": "Something happened."})])["corrections"] == 0.0
