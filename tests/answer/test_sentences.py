"""Quotable sentences: datelines (with state abbreviations) trimmed with offsets kept, and a
headline repeated in the text never an answer sentence."""

import pytest

from service.answer.sentences import candidates, is_headline, lead_length
from service.models import ArticleRef, Passage


@pytest.mark.parametrize("sentence, lead", [
    ("REDMOND, Wash. — Microsoft said on Tuesday it would.", "REDMOND, Wash. — "),
    ("SAN FRANCISCO, Calif. (AP) — OpenAI said.", "SAN FRANCISCO, Calif. (AP) — "),
    ("NEW YORK, N.Y. — Stocks fell.", "NEW YORK, N.Y. — "),
    ("WASHINGTON, D.C. — The House voted.", "WASHINGTON, D.C. — "),
    ("AUSTIN, Texas — The state sued.", "AUSTIN, Texas — "),
    ("PORT ALDER — The council voted.", "PORT ALDER — "),
    ("Microsoft — the company — said so.", ""),
])
def test_datelines_are_trimmed(sentence, lead):
    assert sentence[:lead_length(sentence)] == lead


def test_a_headline_is_not_an_answer_sentence():
    title = "Is Google Search better than the rest? And is that fair?"
    assert is_headline("Is Google Search better than the rest?", title)
    assert not is_headline("Google manipulates Search to maximise ad revenue, she said.", title)
    text = (f"{title}\n\nIs Google Search better than the rest? And is that fair?\n\n"
            "She maintains that Google manipulates Search to maximise ad revenue.")
    found = candidates([Passage(["a#0"], ArticleRef("a", title), text, 0, len(text))])
    assert [c.text for c in found] == ["She maintains that Google manipulates Search to maximise ad revenue."]


def test_offsets_stay_exact_after_the_dateline():
    text = "REDMOND, Wash. — Microsoft released a new model on Thursday to wide acclaim."
    [c] = candidates([Passage(["a#0"], ArticleRef("a", "Microsoft"), text, 0, len(text))])
    assert text[c.start:c.end] == c.text and c.text.startswith("Microsoft released")
