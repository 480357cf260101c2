"""The short answer is given only when the cited sentences determine it, and never yes by
default."""

from service.answer.analysis import analyse, outlet_mentions
from service.answer.assessment import AssessedSentence, Assessment
from service.answer.evidence import evidence
from service.answer.sentences import Candidate
from service.answer.short_answers import name, short_answer
from service.models import ArticleRef, Passage

OUTLETS = ["The Ledger Wire", "Northgate Business Review"]


def scenario(question: str, sentences: list[tuple]) -> tuple[Assessment, list[AssessedSentence]]:
    """(text, outlet, date, score[, cosine]) per sentence, one source each."""
    q = analyse(question)
    passages, assessed = [], []
    for n, (text, outlet, date, score, *rest) in enumerate(sentences, start=1):
        cosine = rest[0] if rest else 0.6
        passages.append(Passage([f"a{n}#0"], ArticleRef(f"a{n}", f"Report {n}", outlet, None, date), text, 0, len(text)))
        c = Candidate(n, 0, len(text), text, f"Report {n}. ", date, outlet)
        assessed.append(AssessedSentence(c, cosine, evidence(q, text, c.context, outlet), 0.5, {}, score))
    a = Assessment(question, q, (q,), passages, assessed, outlet_mentions(question, OUTLETS), 0.6)
    return a, assessed


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
    from service.answer.short_answers import asks_which_came_first

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


def test_the_name_the_cited_sentences_agree_on():
    question = "Which company, reported by The Ledger Wire, invested in Anthropic?"
    a, s = scenario(question, [("Amazon invested $4 billion in Anthropic in November.", "The Ledger Wire", "2024-11-22", 0.8),
                               ("The investment makes Amazon Anthropic's main cloud partner.", "The Ledger Wire",
                                "2024-11-22", 0.6)])
    assert short_answer(a, s, []) == "Amazon"  # Anthropic is asked about, the outlet is the source
    a, s = scenario(question, [("Amazon invested $4 billion in Anthropic in November.", "The Ledger Wire", "2024-11-22", 0.8),
                               ("Google also invested in Anthropic last year.", "The Ledger Wire", "2024-11-22", 0.6)])
    assert name(a, s) is None  # they name different companies


def test_a_name_beside_the_question_s_names_is_no_answer():
    question = "Who replaced Ilya Sutskever as chief scientist?"
    a, s = scenario(question, [
        ("Sutskever, who started the lab with Greg Brockman and others, said he was leaving.", "The Ledger Wire",
         "2024-05-14", 0.5),
        ("Greg Brockman, the president, is on an extended leave.", "The Ledger Wire", "2024-08-06", 0.4),
        ("Jakub Pachocki will succeed him as chief scientist.", "The Ledger Wire", "2024-05-14", 0.8)])
    # Brockman is named twice, first in the sentence quoted first, but the sentence that answers
    # (the one the sentence model rates best) names Pachocki.
    assert name(a, s) is None


def test_the_figure_of_the_sentence_that_answers():
    a, s = scenario("How much did Amazon invest in Anthropic?",
                    [("Amazon will invest $4 billion more in Anthropic, bringing its total to $8 billion.",
                      "The Ledger Wire", "2024-11-22", 0.9)])
    assert short_answer(a, s, []) == "$4 billion"


def test_a_figure_for_another_quarter_is_no_answer():
    question = "How much did Ferrow Rail lose in the third quarter?"
    a, s = scenario(question, [("Ferrow Rail lost $4.1 million in the second quarter, the company said.",
                                "The Ledger Wire", "2025-08-02", 0.8)])
    assert short_answer(a, s, []) is None
    a, s = scenario(question, [("Ferrow Rail lost $5.3 million in the third quarter, the company said.",
                                "The Ledger Wire", "2025-11-02", 0.8)])
    assert short_answer(a, s, []) == "$5.3 million"
    a, s = scenario("How much did Ferrow Rail lose in Q3?", [("Ferrow Rail lost $5.3 million in the third quarter.",
                                                              "The Ledger Wire", "2025-11-02", 0.8)])
    assert short_answer(a, s, []) == "$5.3 million"


def test_an_amount_in_any_currency_word_is_a_figure():
    for sentence, amount in (("The port of Westmere approved a 400 million euro expansion on Monday.", "400 million euro"),
                             ("The port of Westmere approved an expansion costing 2.5 billion yen.", "2.5 billion yen"),
                             ("The port of Westmere approved a 90 million USD expansion.", "90 million USD"),
                             ("The port of Westmere approved an expansion costing 900 euros a metre.", "900 euros")):
        a, s = scenario("How much will the Westmere port expansion cost?", [(sentence, "The Ledger Wire", "2025-03-10", 0.8)])
        assert short_answer(a, s, []) == amount


def test_a_count_in_words_is_a_figure():
    a, s = scenario("How many people were injured in the Dunmore warehouse fire?",
                    [("Three people were injured in the Dunmore warehouse fire, the fire service said.", "The Ledger Wire",
                      "2025-03-10", 0.8)])
    assert short_answer(a, s, []) == "Three"
