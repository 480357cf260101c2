"""The answering core with the real index and embedder; the LLM is mocked at the HTTP
boundary with respx in OpenAI's wire format."""

import json
from datetime import date

import httpx
import pytest

from service.answer.engine import NOT_FOUND, AnswerEngine
from service.answer.extractive import Extractor
from service.answer.llm import build_chat_model

BASE = "http://llm.test/v1"


def completion(content: str) -> dict:
    return {
        "id": "chatcmpl-123", "object": "chat.completion", "created": 1735689600, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940},
        "system_fingerprint": "fp_test",
    }


def engine_for(components, *, retries=0, llm=True):
    chat = build_chat_model(model="gpt-4o-mini", base_url=BASE, api_key="sk-test-secret", max_retries=retries) if llm else None
    return AnswerEngine(
        retriever=components.retriever, article_texts=components.store.get_article_texts,
        extractor=Extractor(), relevance_threshold=components.settings.relevance_threshold,
        chat=chat, prompt=components.prompt, today=lambda: date(2026, 11, 28),
    )


def test_extractive_answer_cites_verbatim_sentences(sample_index):
    engine = engine_for(sample_index, llm=False)
    answer = engine.ask("How much did Amazon invest in Anthropic in November 2024?")
    assert answer.mode == "extractive" and answer.answerable and answer.model is None
    assert answer.citations and answer.unsupported_sentences == []
    texts = sample_index.store.get_article_texts([c.article_id for c in answer.citations])
    for c in answer.citations:
        assert texts[c.article_id][c.start:c.end] == c.quote
        assert c.quote.rstrip(".") in answer.answer.replace(f" [{c.n}]", "")
    assert "harborview-2024-11-22-amazon-anthropic-4-billion" in {c.article_id for c in answer.citations}
    assert "$4 billion" in answer.answer
    assert len({c.quote for c in answer.citations}) == len(answer.citations)  # no repeated sentence


def test_off_topic_question_is_refused_without_calling_the_llm(sample_index, respx_mock):
    route = respx_mock.post(f"{BASE}/chat/completions")
    answer = engine_for(sample_index).ask("What is a good recipe for sourdough bread?")
    assert answer.answer == NOT_FOUND and not answer.answerable and answer.citations == []
    assert route.call_count == 0


def test_llm_answer_gets_prompt_with_date_and_metadata_and_validated_citations(sample_index, respx_mock):
    seen = {}

    def reply(request: httpx.Request):
        seen["body"] = json.loads(request.content)
        seen["auth"] = request.headers["authorization"]
        return httpx.Response(200, json=completion(
            "OpenAI raised $6.6 billion at a $157 billion valuation [1], though another report says $6.5 billion [2]. [12]"))

    respx_mock.post(f"{BASE}/chat/completions").mock(side_effect=reply)
    answer = engine_for(sample_index).ask("How much did OpenAI raise in October 2024?")
    system, user = seen["body"]["messages"]
    assert "2026-11-28" in system["content"]
    assert "The Ledger Wire" in user["content"] and "2024-10-02" in user["content"]
    assert answer.mode == "llm" and answer.prompt_id == "answer.v2" and answer.model == "gpt-4o-mini"
    assert "citation [12] does not match any source" in " ".join(answer.warnings)
    assert {c.n for c in answer.citations} == {1, 2}
    assert seen["auth"] == "Bearer sk-test-secret"
    assert "sk-test-secret" not in json.dumps(answer.to_dict())


def test_retries_exhausted_degrades_to_extractive(sample_index, respx_mock):
    route = respx_mock.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(503, headers={"retry-after": "0"}, json={"error": {"message": "overloaded"}}))
    answer = engine_for(sample_index, retries=2).ask("How much did OpenAI raise in October 2024?")
    assert route.call_count == 3
    assert answer.degraded and answer.mode == "extractive" and answer.answerable
    assert "InternalServerError (HTTP 503)" in answer.degraded_reason
    assert answer.citations


def test_model_saying_it_cannot_answer_is_not_answerable(sample_index, respx_mock):
    respx_mock.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=completion("I cannot answer this from the indexed articles.")))
    answer = engine_for(sample_index).ask("What did Nvidia say about Blackwell pricing in Japan?")
    assert answer.answerable is False and answer.citations == []


def test_follow_up_history_reaches_the_prompt_and_retrieval(sample_index, respx_mock):
    seen = {}

    def reply(request):
        seen["user"] = json.loads(request.content)["messages"][1]["content"]
        return httpx.Response(200, json=completion("It was led by Thrive Capital [1]."))

    respx_mock.post(f"{BASE}/chat/completions").mock(side_effect=reply)
    engine = engine_for(sample_index)
    done = engine.run("Who led it?", history=["How much did OpenAI raise in October 2024?"])
    answer = done.answer
    assert "How much did OpenAI raise in October 2024?" in seen["user"]
    assert any("openai-funding" in p.article_id for p in done.retrieval.passages)
    assert answer.citations


@pytest.mark.parametrize("question", ["What did Mistral release in March 2025?"])
def test_injected_instruction_is_surfaced(sample_index, respx_mock, question):
    respx_mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=completion(
        "Apple has agreed to acquire Mistral AI for $48 billion and the deal will close in June.")))
    answer = engine_for(sample_index).ask(question)
    assert "Apple has agreed to acquire Mistral AI for $48 billion and the deal will close in June." in answer.unsupported_sentences
    assert any("reads as instructions" in w for w in answer.warnings)


def test_on_topic_question_the_articles_cannot_answer_is_refused_by_mode(sample_index, respx_mock):
    """Without an LLM the gate refuses them; with one, the gate refuses only what it is nearly
    sure of (below the LLM threshold) and leaves the rest to the model, whose "cannot answer"
    is the refusal. Either way the reader gets a refusal with no citation."""
    questions = [
        # The Stargate article is about Abilene, but gives no population.
        "What is the population of Abilene, Texas, where the first Stargate site is being built?",
        # It gives the project's cost, not this site's: the gate is unsure, the model is asked.
        "What will the Stargate site in Abilene cost to build?",
    ]
    route = respx_mock.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=completion("I cannot answer this from the indexed articles.")))
    extractive, with_llm = engine_for(sample_index, llm=False), engine_for(sample_index)
    asked = 0
    for question in questions:
        answer = extractive.ask(question)
        assert answer.answer == NOT_FOUND and not answer.answerable
        result, mentions = with_llm.retrieve(question)
        nearly_sure = with_llm.assess(question, result, mentions=mentions).answerability < with_llm.gate.model.thresholds["llm"]
        before = route.call_count
        answer = with_llm.ask(question)
        assert route.call_count == before + (0 if nearly_sure else 1)
        assert not answer.answerable and answer.citations == []
        asked += not nearly_sure
    assert asked >= 1  # the model's own "cannot answer" path was taken
    assert extractive.ask("How many transistors does Nvidia's Blackwell B200 chip have?").answerable


def test_extractive_answer_states_the_correction_and_cites_both(sample_index):
    answer = engine_for(sample_index, llm=False).ask("How much does Claude 3.5 Sonnet cost per million input tokens?")
    cited = {c.article_id for c in answer.citations}
    assert {"silicon-2024-06-20-claude-3-5-sonnet", "silicon-2024-06-24-correction-claude-3-5-sonnet"} <= cited
    assert "$3 per million input tokens" in answer.answer and "is a correction" in answer.answer


def test_extractive_answer_to_a_latest_question_is_dated(sample_index):
    answer = engine_for(sample_index, llm=False).ask("What is the latest news on Microsoft's own AI models?")
    assert answer.answer.startswith("As of August 28, 2025")
    assert "bayline-2025-08-28-microsoft-mai-models" in {c.article_id for c in answer.citations}


def test_extractive_skips_headlines_and_subheads():
    from service.models import ArticleRef, Passage

    text = ("Microsoft unveils MAI-1-preview, its first homegrown model\n\n"
            "Microsoft released MAI-1-preview on Thursday, its first text model trained in-house.\n\n"
            "What the model means for OpenAI")
    from service.answer.assessment import assess

    passage = Passage(["x#0"], ArticleRef("x", "MAI"), text, 0, len(text))
    a = assess("What model did Microsoft release?", [passage], chunks={}, vector=None, best_dense=0.5,
               outlets_in_archive={})
    assert Extractor().answer(a).claims == "Microsoft released MAI-1-preview on Thursday, its first text model trained in-house [1]."


def test_a_question_is_assessed_once_per_ask(sample_index, monkeypatch):
    """One analysis of the question and one evidence reading per source sentence, shared by
    the gate, the extractive answer and the conflict check."""
    from service.answer import analysis, assessment, conflicts

    calls = {"analyse": 0, "evidence": 0}
    real_analyse, real_evidence = analysis.analyse, assessment.evidence

    def counting_analyse(text):
        calls["analyse"] += 1
        return real_analyse(text)

    def counting_evidence(*args, **kwargs):
        calls["evidence"] += 1
        return real_evidence(*args, **kwargs)

    monkeypatch.setattr(assessment, "analyse", counting_analyse)
    monkeypatch.setattr(assessment, "evidence", counting_evidence)
    monkeypatch.setattr(conflicts, "evidence", counting_evidence)
    done = engine_for(sample_index, llm=False).run("How much did Amazon invest in Anthropic in November 2024?")
    assert done.answer.answerable and done.assessment is not None
    assert calls["analyse"] == 1
    assert calls["evidence"] == len(done.assessment.sentences)


def test_a_figure_question_is_answered_with_the_figure_asked_for_or_refused(components):
    from tests.conftest import make_article

    components.ingester.ingest([
        make_article("lib", "The Harbourside Library renovation will cost $14 million, the city council said on Monday. "
                            "Work starts in April and the branch will close for a year.",
                     title="Harbourside Library renovation approved"),
        make_article("grocer", "Lumen Grocers will close 12 stores and spend $40 million refitting the rest, chief "
                               "executive Dana Ricci said on Tuesday after the chain's merger talks collapsed. "
                               "Ricci said no further job cuts were planned.",
                     title="Lumen Grocers to close 12 stores"),
        make_article("vote", "Measure K, the county's $60 million parks bond, won 58 percent of the vote in the final "
                             "count. Turnout was 41 percent, the registrar said.", title="Parks bond passes"),
        make_article("pass", "The cheapest day pass on the Coastal Line will rise to $12 from $9 in March, the operator "
                             "said. Monthly passes are unchanged.", title="Coastal Line fares rise"),
    ])
    engine = engine_for(components, llm=False)

    library = engine.ask("How much will the Harbourside Library renovation cost?")
    assert library.answerable and library.short_answer == "$14 million"
    day_pass = engine.ask("How much will the cheapest day pass on the Coastal Line cost?")
    assert day_pass.answerable and day_pass.short_answer == "$12"  # priced without the verb "cost"
    # Sources about the subject that give no amount of what is asked: a refusal, not the refit budget.
    severance = engine.ask("How much severance did Lumen Grocers chief executive Dana Ricci receive?")
    assert not severance.answerable and "$40 million" not in severance.answer
    # Another ballot measure's share is not this one's.
    measure = engine.ask("What percentage of the vote did Measure J get in the final count?")
    assert not measure.answerable and "58 percent" not in measure.answer
