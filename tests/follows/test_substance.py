"""What counts as a change of substance, on answers built by hand."""

from __future__ import annotations

from service.follows.substance import Substance, changes, names_in
from service.models import Answer, ArticleRef, Citation, Source

REPORT = ArticleRef("report", "Bridge repair to cost $12 million", "Gazette", None, "2025-03-03T09:00:00+00:00")
FIX = ArticleRef("fix", "Correction: bridge repair will cost $21 million, not $12 million", "Gazette", None,
                 "2025-03-06T09:00:00+00:00")
OTHER = ArticleRef("other", "Council approves bridge contract", "Standard", None, "2025-03-08T09:00:00+00:00")
WIRE = ArticleRef("wire-copy", "Bridge repair to cost $12 million", "Herald", None, "2025-03-03T10:00:00+00:00")


def source(n, ref, text, copies=()):
    return Source(n, ref, text, 0, len(text), 1.0, 0.5, tuple(copies))


def cite(n, ref, quote):
    return Citation(n, ref.article_id, ref.title, ref.outlet, ref.url, ref.published_at, quote, 0, len(quote), 1.0)


def answer(sources, citations, answerable=True, text="An answer [1]."):
    return Answer(text, answerable, "extractive", citations, sources, [], [], None, None, "r", {})


Q = "How much will the bridge repair cost?"
REPORT_TEXT = "Repairing the bridge will cost $12 million, the city said on Monday."
FIX_TEXT = "The repair will cost $21 million, not $12 million as reported."
BEFORE = answer([source(1, REPORT, REPORT_TEXT)], [cite(1, REPORT, REPORT_TEXT)])


def test_the_same_answer_in_other_words_or_order_is_no_change():
    again = answer([source(1, REPORT, REPORT_TEXT + " Trucks are banned.")], [cite(1, REPORT, REPORT_TEXT)],
                   text="It will cost $12 million [1].")
    old = Substance.of(Q, BEFORE)
    assert changes(old, Substance.of(Q, again), again) == []
    assert Substance.from_dict(old.to_dict()) == old and old.fingerprint == Substance.of(Q, again).fingerprint


def test_a_correction_of_a_cited_report_says_what_was_corrected():
    after = answer([source(1, FIX, FIX_TEXT), source(2, REPORT, REPORT_TEXT)],
                   [cite(1, FIX, FIX_TEXT), cite(2, REPORT, REPORT_TEXT)])
    found = changes(Substance.of(Q, BEFORE), Substance.of(Q, after), after)
    assert [c.to_dict() for c in found] == [{"kind": "corrected", "text": "Corrected: $12 million → $21 million [1]"}]
    # Told once: compared with itself, nothing is new.
    assert changes(Substance.of(Q, after), Substance.of(Q, after), after) == []


def test_a_correction_among_the_sources_is_told_once_even_when_the_answer_does_not_cite_it():
    after = answer([source(1, REPORT, REPORT_TEXT), source(2, FIX, FIX_TEXT)], [cite(1, REPORT, REPORT_TEXT)])
    found = changes(Substance.of(Q, BEFORE), Substance.of(Q, after), after)
    assert [c.text for c in found] == ["Corrected: $12 million → $21 million [2]"]
    # What that notice said becomes the baseline: compared with it, the same answer is no news.
    told = Substance.from_dict(Substance.of(Q, after).to_dict())
    assert changes(told, Substance.of(Q, after), after) == []


def test_another_storys_correction_from_the_same_outlet_corrects_nothing_here():
    other_fix = ArticleRef("ferry-fix", "Correction: the ferry resumes on March 20, not March 27", "Gazette", None,
                           "2025-03-07T09:00:00+00:00")
    after = answer([source(1, REPORT, REPORT_TEXT), source(2, other_fix, "The ferry resumes on March 20.")],
                   [cite(1, REPORT, REPORT_TEXT)])
    assert changes(Substance.of(Q, BEFORE), Substance.of(Q, after), after) == []


def test_a_new_cited_source_and_its_new_figure():
    text = "The council approved a $19.5 million contract for the repair on Friday."
    after = answer([source(1, REPORT, REPORT_TEXT), source(2, OTHER, text)],
                   [cite(1, REPORT, REPORT_TEXT), cite(2, OTHER, text)])
    kinds = [(c.kind, c.text) for c in changes(Substance.of(Q, BEFORE), Substance.of(Q, after), after)]
    assert kinds == [("source", "New source: Council approves bridge contract (Standard, 2025-03-08) [2]"),
                     ("figure", "New figure: $19.5 million [2]")]


def test_a_wire_copy_of_a_cited_source_is_not_new():
    copy = answer([source(1, WIRE, REPORT_TEXT, copies=[REPORT])], [cite(1, WIRE, REPORT_TEXT)])
    assert changes(Substance.of(Q, BEFORE), Substance.of(Q, copy), copy) == []


def test_a_refusal_that_became_an_answer():
    refused = answer([], [], answerable=False, text="Not found in the indexed articles.")
    found = changes(Substance.of(Q, refused), Substance.of(Q, BEFORE), BEFORE)
    assert [c.kind for c in found] == ["answered"] and found[0].text == "Now answered: An answer [1]."
    # The other way round is not news.
    assert changes(Substance.of(Q, BEFORE), Substance.of(Q, refused), refused) == []


def test_a_new_name_counts_for_questions_about_who():
    who = "Who will manage the youth academy?"
    old_text, new_text = "Tom Fenner will manage the academy.", "Maria Oduya will manage the academy from April."
    before = answer([source(1, REPORT, old_text)], [cite(1, REPORT, old_text)])
    after = answer([source(1, REPORT, new_text)], [cite(1, REPORT, new_text)])
    found = changes(Substance.of(who, before), Substance.of(who, after), after)
    assert ("name", "New name: Maria Oduya [1]") in [(c.kind, c.text) for c in found]
    # For a question about how much, names are not what is followed.
    assert [c.kind for c in changes(Substance.of(Q, before), Substance.of(Q, after), after)] == []


def test_names_in():
    assert names_in("Maria Oduya replaced Tom Fenner at MAI-1 headquarters.") == ["Maria Oduya", "Tom Fenner", "MAI-1"]
    assert names_in("The council met.") == []
