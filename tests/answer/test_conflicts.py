"""Disagreements the extractive answer points out: figures, names, corrections."""

from service.answer.conflicts import correction_note, figure_disagreement, figures, naming_conflict, variant_names
from service.answer.sentences import Candidate
from service.models import ArticleRef, Passage


def passage(article_id, **facts):
    return Passage([], ArticleRef(article_id, **facts), "", 0, 0)


def test_figures_by_unit():
    assert figures("It raised $6.6 billion, up 93%.") == {"$billion": {"$6.6billion": "$6.6 billion"}, "%": {"93%": "93%"}}


def test_two_accounts_of_one_round_disagree():
    ps = [passage("a"), passage("b")]
    chosen = [(1, "OpenAI raised $6.6 billion at a $157 billion valuation in its funding round."),
              (2, "OpenAI closed a funding round of $6.5 billion that values it at $150 billion.")]
    assert figure_disagreement(chosen, ps) == (
        "Note that the sources give different figures: $6.6 billion, $157 billion [1] versus $6.5 billion, $150 billion [2].")
    assert figure_disagreement(chosen, [passage("a"), passage("a")]) == ""  # one article is not two accounts


def test_unrelated_sums_are_not_called_a_disagreement():
    ps = [passage("a"), passage("b")]
    chosen = [(1, "OpenAI raised $6.6 billion at a $157 billion valuation."),
              (2, "Shares of the chipmaker fell after $589 billion of market value was erased on Monday.")]
    assert figure_disagreement(chosen, ps) == ""


def test_variant_spellings_of_one_name():
    assert variant_names("DeepSee", "DeepSeek") and variant_names("DeepSeed", "DeepSeek")
    assert variant_names("M1", "MA1") and variant_names("MA1", "MAI-1") and variant_names("Suleiman", "Suleyman")
    assert not variant_names("GPT-3", "GPT-4")  # another version, not another spelling
    assert not variant_names("Claude", "Cloud") and not variant_names("Meta", "Mega")


def candidate(n, text):
    return Candidate(n, 0, len(text), text, "", "")


def test_naming_conflict_cites_each_spelling():
    found = [candidate(1, "Microsoft is building a model called MA1 with the help of DeepSee engineers."),
             candidate(2, "The lab is DeepSeek, and the model is MAI-1, according to the company.")]
    note = naming_conflict(found, found[:1])
    assert "disagree on the name" in note
    assert "DeepSee [1]" in note and "DeepSeek [2]" in note and "MA1 [1]" in note and "MAI-1 [2]" in note


def test_correction_supersedes_the_earlier_report():
    ps = [passage("fix", title="Correction: the model costs $3, not $5", outlet="Silicon Current", published_at="2024-06-24"),
          passage("orig", title="Launch", outlet="Silicon Current", published_at="2024-06-20"),
          passage("other", title="Launch", outlet="Another Outlet", published_at="2024-06-20")]
    note = correction_note([candidate(1, "The correct price is $3."), candidate(2, "It costs $5.")], ps)
    assert note.startswith("Source [1] is a correction, published June 24, 2024; it supersedes the earlier report [2]")
    assert correction_note([candidate(1, "The correct price is $3."), candidate(3, "It costs $5.")], ps) == ""


def test_an_answer_that_hides_a_correction_is_warned_about():
    from service.answer.citations import check_answer

    original = Passage(["o#0"], ArticleRef("orig", "Launch", "Silicon Current", published_at="2024-06-20"),
                       "The model costs $5 per million input tokens.", 0, 44)
    fix = Passage(["f#0"], ArticleRef("fix", "Correction: $3, not $5", "Silicon Current", published_at="2024-06-24"),
                  "The correct price is $3 per million input tokens.", 0, 49)
    texts = {"orig": original.text, "fix": fix.text}
    hidden = check_answer("The model costs $5 per million input tokens [1].", [original, fix], texts)
    assert any("source [2] corrects source [1]" in w for w in hidden.warnings)
    told = check_answer("It costs $3 per million input tokens; the $5 figure was corrected [2].", [original, fix], texts)
    assert not any("corrects source" in w for w in told.warnings)


def test_an_answers_conflicts_are_found_from_its_quotes_whoever_wrote_it():
    from service.answer.conflicts import find_conflicts

    ps = [passage("ledger", title="OpenAI funding", outlet="Ledger"), passage("northgate", title="OpenAI round", outlet="Northgate"),
          passage("fix", title="Correction: the model costs $3, not $5", outlet="Silicon Current", published_at="2024-06-24"),
          passage("orig", title="Launch", outlet="Silicon Current", published_at="2024-06-20")]
    question = "How much did OpenAI raise in its funding round, and at what valuation?"
    sides = [(1, "OpenAI raised $6.6 billion in new funding at a post-money valuation of $157 billion."),
             (2, "OpenAI has closed a funding round of $6.5 billion that values the company at $150 billion.")]
    assert find_conflicts(question, sides, ps) == [
        "Note that the sources give different figures: $6.6 billion, $157 billion [1] versus $6.5 billion, $150 billion [2]."]
    assert find_conflicts(question, sides[:1], ps) == []  # one side cited, nothing to compare
    # Another spelling in a leading source, though the answer cites only one.
    said = ["Mustafa Suleyman leads Microsoft AI, the company said.", "Mustafa Suleiman, who leads Microsoft AI, spoke on Monday.",
            "Other news today included the weather and the markets.", "Shares rose on Monday after the results came out.",
            "The ferry timetable changes in June, the operator said.", "Mustafa Suleymann was named in a court filing on Friday."]
    named = [Passage([f"c{i}"], ArticleRef(f"a{i}", f"T{i}"), text, 0, len(text)) for i, text in enumerate(said)]
    names = find_conflicts("Who leads Microsoft AI?", [(1, said[0])], named)
    assert names == ["The sources disagree on the name: Suleyman [1], Suleiman [2]."]  # [6] ranks below the leaders
    # A cited report that a correction among the sources supersedes.
    corrected = find_conflicts("How much does the model cost?", [(4, "It costs $5 per million tokens.")], ps)
    assert corrected == ["Source [3] is a correction, published June 24, 2024; it supersedes the earlier report [4] "
                         "of June 20, 2024."]


def test_the_ask_response_carries_the_conflicts_in_either_mode(sample_index):
    answer = sample_index.engine.ask("What did Silicon Current get wrong in its Claude 3.5 Sonnet launch story?")
    assert answer.mode == "extractive" and answer.answerable
    assert any("is a correction" in c and "supersedes the earlier report" in c for c in answer.conflicts)
    plain = sample_index.engine.ask("How many GPUs was Microsoft's MAI-1-preview trained on?")
    assert plain.answerable and plain.conflicts == []


def test_a_naming_note_orders_spellings_by_source_then_by_name():
    # Ties used to follow a set's iteration order, which changes with each process's hash seed.
    said = ["Microsoft trains MAI-1 in house today.", "Posts called it MA1 and M1 and MAI-1 in error."]
    found = [Candidate(i + 1, 0, len(t), t, "", "") for i, t in enumerate(said)]
    assert naming_conflict(found, found[:1]) == "The sources disagree on the name: MAI-1 [1], M1 [2], MA1 [2]."


def test_a_credit_line_is_not_the_round():
    ps = [passage("a", title="Amazon and OpenAI"), passage("b", title="OpenAI funding")]
    chosen = [(1, "Amazon extended a $4 billion credit line to OpenAI last year, the company said."),
              (2, "OpenAI raised $6.6 billion in a funding round that closed on Wednesday, the company said.")]
    assert figure_disagreement(chosen, ps) == ""


def test_two_bridges_of_one_town_are_two_things():
    ps = [passage("a", title="Elm Street Bridge repair"), passage("b", title="Oak Street Bridge replacement")]
    chosen = [(1, "The Elm Street Bridge repair will cost $12 million, the city said on Monday."),
              (2, "The Oak Street Bridge replacement will cost $8 million, the city said on Monday.")]
    assert figure_disagreement(chosen, ps) == ""
    same = [(1, chosen[0][1]), (2, "The Elm Street Bridge repair will cost $21 million, the city said on Monday.")]
    assert "different figures" in figure_disagreement(same, [ps[0], passage("c", title="Elm Street Bridge repair")])
