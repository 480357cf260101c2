"""Reading a question once: its answer type, focus, names, whether it is a yes/no question,
its parts, and the outlets it names (in the archive or not)."""

from service.answer.analysis import analyse, clauses, is_polar, outlet_mentions


def test_answer_types():
    assert analyse("How many parameters does MAI-1 have?").kind == "count"
    assert analyse("How much did Amazon invest in Anthropic?").kind == "money"
    assert analyse("What is the population of Abilene?").kind == "count"
    assert analyse("Who replaced Ilya Sutskever?").kind == "person"
    assert analyse("When was DeepSeek-R1 released?").kind == "date"
    assert analyse("Why is the restart significant?").kind == "open"
    assert analyse("Which company, reported by TechCrunch, faces antitrust cases?").kind == "name"


def test_named_things_and_focus():
    q = analyse("How many parameters does Microsoft's MAI-1-preview model have?")
    assert q.entities == ("Microsoft", "MAI-1-preview") and "paramet" in q.focus
    assert analyse("What did Silicon Current get wrong?").recency is False  # an outlet, not "current"
    assert analyse("What is the current valuation of OpenAI?").recency is True
    # A claim to check: figures in it are values, not names.
    assert analyse("10% of SIDS deaths happen in newborns aged less than 6 months.").entities == ("SIDS",)
    claim = analyse("4-PBA treatment decreases endoplasmic reticulum stress in response to stress markers.")
    assert claim.statement and claim.entities == ("4-PBA",)


def test_yes_no_questions():
    assert is_polar("Did The Ledger Wire report it before Northgate?")
    assert is_polar("Between the TechCrunch report on X and the one on Y, was there consistency in the coverage?")
    assert is_polar("Considering the two reports, did the Sporting News change its explanation?")
    assert not is_polar("Which company did Jan Leike join?")
    assert not is_polar("How much did OpenAI raise, and was it the largest round?")
    assert not is_polar("Did OpenAI raise money")  # not a question without its question mark
    assert analyse("Is the reporting consistent?").polar


def test_a_question_in_parts():
    assert clauses("How big is the reactor, and when is it expected to restart?") == [
        "How big is the reactor", "when is it expected to restart?"]


ARCHIVE = ["The Verge", "TechCrunch", "The New York Times", "BBC News - Entertainment & Arts",
           "The Roar | Sports Writers Blog", "The Age"]


def test_outlets_the_question_names_matched_to_the_archive():
    found = outlet_mentions("Considering a New York Times article on her advocacy and a BBC News report on her "
                            "appearances, which network did she partner with?", ARCHIVE)
    assert [(m.phrase, m.outlet) for m in found] == [("New York Times", "The New York Times"),
                                                     ("BBC News", "BBC News - Entertainment & Arts")]
    found = outlet_mentions("After the report by The Age on October 22, did TechCrunch stay consistent?", ARCHIVE)
    assert [m.outlet for m in found] == ["The Age", "TechCrunch"]
    assert [m.outlet for m in outlet_mentions("Which teams did The Roar | Sports Writers Blog cover?", ARCHIVE)] == [
        "The Roar | Sports Writers Blog"]


def test_an_outlet_whose_name_a_capitalised_run_cannot_hold_is_found_whole_and_in_order():
    archive = [*ARCHIVE, "The Independent - Life and Style", "Business World", "Cnbc | World Business News Leader"]
    # A lowercase "and" and a quote end a capitalised run; the name written out is the outlet.
    found = outlet_mentions("Who is openly in a relationship with Travis Kelce, as reported by "
                            "'The Independent - Life and Style', and also by The Age?", archive)
    assert [m.outlet for m in found] == ["The Independent - Life and Style", "The Age"]
    # Of the outlets a run's words fit, the one they fit best: not the shorter "Business World".
    found = outlet_mentions("Which company is praised by The Verge and described by sellers in a "
                            "Cnbc | World Business News Leader report?", archive)
    assert [m.outlet for m in found] == ["The Verge", "Cnbc | World Business News Leader"]
    found = outlet_mentions("Do both articles from The Independent - Life and Style agree?", archive)
    assert [m.outlet for m in found] == ["The Independent - Life and Style"] * 2


def test_outlets_the_archive_lacks_are_named_as_missing():
    found = outlet_mentions("Considering the reforms in a Bloomberg article and a Reuters report on Mexico, "
                            "which minister is responsible?", ARCHIVE)
    assert [(m.phrase, m.outlet) for m in found] == [("Bloomberg", None), ("Reuters", None)]
    # Months, question words and plain names with no outlet cue are not outlets.
    assert outlet_mentions("How much did OpenAI raise in October 2024?", ARCHIVE) == []
    assert outlet_mentions("Who replaced Ilya Sutskever at OpenAI?", ARCHIVE) == []
    # After an auxiliary, "report", "post" or "review" is what the company did, not an outlet's piece.
    assert outlet_mentions("What did Nvidia report?", ARCHIVE) == []
    assert outlet_mentions("How much revenue will Apple post this quarter?", ARCHIVE) == []
    assert [m.phrase for m in outlet_mentions("What did the Bloomberg report say?", ARCHIVE)] == ["Bloomberg"]
