"""The short answer is given only when the cited sentences determine it, and never yes by
default."""

import pytest

from service.answer.short_answers import name, reply_yes_or_no, short_answer
from tests.answer.assessed import scenario


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


def test_a_name_is_given_beside_what_the_archive_lacks_but_a_figure_or_yes_no_is_not():
    question = "Which company, reported by The Ledger Wire, invested in Anthropic and was sued by Zorblatt?"
    sentences = [("Amazon invested $4 billion in Anthropic in November.", "The Ledger Wire", "2024-11-22", 0.8),
                 ("The investment makes Amazon Anthropic's main cloud partner.", "The Ledger Wire", "2024-11-22", 0.6)]
    a, s = scenario(question, sentences)
    assert short_answer(a, s, ["Zorblatt"]) == "Amazon"  # the note says the archive has nothing on Zorblatt
    a, s = scenario("How much did Amazon invest in Anthropic?", sentences[:1])
    assert short_answer(a, s, []) == "$4 billion"
    assert short_answer(a, s, ["Zorblatt"]) is None
    a, s = scenario("Did Amazon invest in Anthropic before Zorblatt did?", sentences[:1])
    assert short_answer(a, s, ["Zorblatt"]) is None


@pytest.mark.parametrize(("opening", "expected"), [
    ("Yes.", "Yes"),
    ("Yes, TechCrunch reported it before The Verge did.", "Yes"),
    ("No: the figures differ, $4.2 million against $4.6 million.", "No"),
    ("no — the ruling came first.", "No"),
    ("No, the sources do not say whether the fee was paid.", None),
    ("Yes, though the articles don't say when.", None),
    ("It is not clear from the sources.", None),
    ("No one was hurt in the fire.", None),  # "no" without the punctuation of an answer
    ("Nobody answered.", None),
    ("Yesterday the board voted.", None),
])
def test_reply_yes_or_no_reads_the_opening(opening, expected):
    assert reply_yes_or_no(True, opening) == expected


def test_reply_yes_or_no_only_for_yes_no_questions():
    assert reply_yes_or_no(False, "Yes, the board approved it.") is None
