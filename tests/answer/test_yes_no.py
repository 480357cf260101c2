"""Yes or no only when the cited sentences determine it: the two reports' dates for which
came first, the figures each outlet's article gives, and never yes by default."""

from service.answer.short_answers import short_answer
from tests.answer.assessed import scenario


def test_which_came_first_is_read_from_the_two_reports_dates():
    question = "Did The Ledger Wire report the funding round before Northgate Business Review did?"
    a, s = scenario(question, [("OpenAI closed a funding round of $6.5 billion, the company said.", "The Ledger Wire",
                                "2024-10-02", 0.8),
                               ("OpenAI raised $6.6 billion in its latest funding round, people said.",
                                "Northgate Business Review", "2024-10-03", 0.7)])
    assert short_answer(a, s, []) == "Yes"
    a, s = scenario(question.replace("before", "after"), [(x.text, x.candidate.outlet, x.candidate.published, x.score)
                                                          for x in s])
    assert short_answer(a, s, []) == "No"


def test_dates_answer_which_came_first_but_not_whether_reports_agreed_or_what_one_said():
    from service.answer.yes_no import asks_which_came_first

    assert asks_which_came_first("Did The Ledger Wire cover the strike vote after Northgate Business Review covered it?")
    assert asks_which_came_first("Was the merger reported by The Ledger Wire before Northgate's report on the layoffs?")
    assert not asks_which_came_first("After The Ledger Wire's March report and Northgate's April report, was the "
                                     "coverage of the strike consistent?")
    assert not asks_which_came_first("Did The Ledger Wire's account of the fare rise change after Northgate's report?")
    assert not asks_which_came_first("Before Northgate reported the layoffs, did The Ledger Wire say the plant would close?")
    question = ("After The Ledger Wire reported the funding round, did Northgate Business Review report the same "
                "amount?")
    a, s = scenario(question, [("OpenAI closed a funding round of $6.6 billion, the company said.", "The Ledger Wire",
                                "2024-10-03", 0.8),
                               ("OpenAI raised $6.6 billion in its latest funding round, people said.",
                                "Northgate Business Review", "2024-10-02", 0.7)])
    assert short_answer(a, s, []) != "No"  # the dates (Northgate first) say nothing about the amount


def test_no_yes_when_a_side_is_missing_or_weak():
    question = "Did The Ledger Wire and Northgate Business Review report that OpenAI raised $6.6 billion?"
    a, s = scenario(question, [("OpenAI raised $6.6 billion in its latest funding round.", "The Ledger Wire", "2024-10-02",
                                0.8)])
    assert short_answer(a, s, []) is None  # Northgate's side is not among the sources: no answer, not "no"
    a, s = scenario(question, [("OpenAI raised $6.6 billion in its latest funding round.", "The Ledger Wire", "2024-10-02",
                                0.8),
                               ("Shares of chipmakers fell sharply on Monday in Asian trading.",
                                "Northgate Business Review", "2024-10-03", 0.05, 0.2)])
    assert short_answer(a, s, []) is None
    a, s = scenario(question, [(x.text, x.candidate.outlet, x.candidate.published, 0.8) for x in s[:1]]
                    + [("OpenAI raised $6.6 billion, Northgate reported.", "Northgate Business Review", "2024-10-03", 0.7)])
    assert short_answer(a, s, []) == "Yes"  # each side's article gives the figure
    assert short_answer(a, s, ["Northgate Business Review"]) is None


def test_a_figure_the_question_gives_an_outlet_is_checked_in_that_outlet_s_article():
    question = ("Does The Ledger Wire article say the ferry carried 41,000 riders in May, while the Northgate "
                "Business Review article says it carried 38,500?")
    ledger = ("The harbour ferry carried 41,000 riders in May, the operator said.", "The Ledger Wire", "2025-06-02", 0.6)
    a, s = scenario(question, [ledger, ("The ferry carried 38,500 riders last month.", "Northgate Business Review",
                                        "2025-06-03", 0.6)])
    assert short_answer(a, s, []) == "Yes"
    a, s = scenario(question, [ledger, ("The ferry carried 36,200 riders last month.", "Northgate Business Review",
                                        "2025-06-03", 0.6)])
    assert short_answer(a, s, []) == "No"  # Northgate gives another count
    a, s = scenario(question, [ledger, ("The ferry was busier than ever last month.", "Northgate Business Review",
                                        "2025-06-03", 0.6)])
    assert short_answer(a, s, []) is None  # Northgate gives no count: not a no, and not a yes


def test_both_sides_found_is_no_yes_without_something_to_check():
    question = ("Does The Ledger Wire article say the ferry was late, while the Northgate Business Review "
                "article blames the weather?")
    a, s = scenario(question, [("The harbour ferry was late again on Monday.", "The Ledger Wire", "2025-06-02", 0.7),
                               ("Storms delayed the ferry, Northgate reported.", "Northgate Business Review",
                                "2025-06-03", 0.7)])
    assert short_answer(a, s, []) is None


def test_inconsistency_is_read_from_differing_figures():
    question = ("Between The Ledger Wire report and the Northgate Business Review report, was there "
                "consistency in the size of OpenAI's funding round?")
    agree = [("OpenAI closed a funding round of $6.6 billion on Wednesday.", "The Ledger Wire", "2024-10-02", 0.8),
             ("OpenAI raised $6.6 billion in a funding round, the company said.", "Northgate Business Review",
              "2024-10-03", 0.8)]
    a, s = scenario(question, agree)
    assert short_answer(a, s, []) is None  # both found is not both agreeing: nothing reads that extractively
    differ = [agree[0], ("OpenAI raised $6.5 billion in a funding round, the company said.",
                         "Northgate Business Review", "2024-10-03", 0.8)]
    a, s = scenario(question, differ)
    assert short_answer(a, s, []) == "No"
    a, s = scenario(question.replace("consistency", "inconsistency"), differ)
    assert short_answer(a, s, []) == "Yes"
