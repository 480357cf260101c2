"""What one sentence holds of what a question asks (the features the gate and the extractive
answer read)."""

import pytest

from service.answer.analysis import analyse
from service.answer.evidence import evidence


@pytest.mark.parametrize("question, sentence, expected", [
    ("How many parameters does MAI-1 have?", "MAI-1 will have roughly 500 billion parameters.", True),
    # A sibling named in the sentence is no answer about the model asked for, whatever the title says.
    ("How many parameters does MAI-1-preview have?", "MAI-1 will have roughly 500 billion parameters.", False),
    ("What is the population of Abilene?", "Construction is under way in Abilene, where ten buildings are planned.", False),
    ("How many employees does DeepSeek have?", "DeepSeek released its R1 model on January 20 to wide acclaim.", False),
    # The figure must count the thing asked about: "people" here are the reporter's sources.
    ("How many employees does DeepSeek have?", "DeepSeek will have roughly 500 billion parameters, the people said.", False),
    ("How many employees does DeepSeek have?", "DeepSeek, based in Hangzhou, has about 160 employees.", True),
    # Anonymous sourcing is not a headcount, and "AI" alone does not name Mistral AI.
    ("How many employees does Mistral AI have?",
     "Microsoft is testing AI models from xAI and DeepSeek, according to three people familiar with the work.", False),
    ("How many employees does Mistral AI have?", "Mistral AI has about 280 people on staff.", True),
    # The day something was announced answers when it was announced, not when it will be done.
    ("When will the Abilene data centre be finished?",
     "Stargate will build data centres in Abilene, the companies announced at the White House on Tuesday, January 21, 2025.",
     False),
    ("When will the Abilene data centre be finished?", "The Abilene data centre should be finished by mid-2026, the companies said.", True),
    ("When did OpenAI announce the Abilene data centre?",
     "OpenAI announced the Abilene data centre at the White House on Tuesday, January 21, 2025.", True),
    ("When did Microsoft hire Mustafa Suleyman?", "Microsoft said on Tuesday, March 19, 2024, that it had hired Mustafa Suleyman.", True),
    ("How many employees does DeepSeek have?", "DeepSeek has a workforce of 1,200 in Hangzhou.", True),
    ("How many GPUs trained MAI-1-preview?", "MAI-1-preview was trained on about 15,000 Nvidia H100 GPUs.", True),
    ("Who replaced Ilya Sutskever as chief scientist?", "Jakub Pachocki will succeed Sutskever as chief scientist.", True),
    ("Who heads the AI Office?", "The AI Office, which oversees the rules, can fine providers.", False),
    # "Who" asks for an agent: a company answers it as well as a person, first word or not.
    ("Who reported record data-centre revenue?", "Nvidia reported record data-centre revenue on Wednesday.", True),
    ("Who bought the Brontavia ferry line?", "The Brontavia ferry line was sold on Monday for $4 million.", False),
    # A lone name that is not the subject of a verb is no agent by itself.
    ("Who replaced Ilya Sutskever as chief scientist?",
     "Altman, the chief executive, praised Sutskever as one of the greatest minds of his generation.", False),
    ("When did Microsoft hire Mustafa Suleyman?", "Microsoft hired Mustafa Suleyman on Tuesday, March 19, 2024.", True),
    ("How much does the B200 cost?", "Huang said each B200 chip would cost between $30,000 and $40,000.", True),
    ("How much does the B200 cost?", "The B200 packs 208 billion transistors.", False),
    # "Which company" needs a name besides the ones asked about, in a sentence about a company.
    ("Which company did Jan Leike join?", "Jan Leike, who co-led the team with Sutskever, said he had resigned.", False),
    ("Which company did Jan Leike join?", "Jan Leike joined the start-up Anthropic in May.", True),
])
def test_sentence_answers(question, sentence, expected):
    assert evidence(analyse(question), sentence, "Title: MAI-1-preview. Abilene").answers is expected


def test_an_outlet_named_in_the_question_is_met_by_what_it_published():
    q = analyse("What valuation did the round set, according to Northgate Business Review?")
    sentence = "OpenAI closed a funding round of $6.5 billion that values the company at $150 billion."
    assert evidence(q, sentence, "", "Northgate Business Review").answers
    assert not evidence(q, sentence, "", "The Ledger Wire").answers
