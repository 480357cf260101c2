"""Cassettes: stable keys, scripted answers rendered against the real sources, replay that
never reaches the network, and a recorder that never writes the API key."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from service.answer.citations import check_answer
from service.config import Settings
from service.errors import CassetteMissingError, LLMUnavailableError
from service.evals.cassettes import (
    REPLAY_BASE_URL,
    CassetteStore,
    Replayer,
    Turn,
    cassette_key,
    completion_body,
    render_scripted,
    replaying,
)
from service.evals.runner import live_chat_model, replay_chat_model
from service.models import ArticleRef, Passage

MESSAGES = [{"role": "system", "content": "Be careful."}, {"role": "user", "content": "Who?"}]


def passage(article_id: str, text: str = "Some text about the news.", copies: tuple[str, ...] = ()) -> Passage:
    return Passage(
        chunk_ids=[f"{article_id}#0"], article=ArticleRef(article_id, title=article_id), text=text, char_start=0,
        char_end=len(text), corroborated_by=[ArticleRef(c) for c in copies],
    )


# -- keys ------------------------------------------------------------------------------------------

def test_key_is_pinned_so_committed_cassettes_keep_matching():
    assert cassette_key("gpt-4o-mini", MESSAGES) == "92db8382a84004f00cb6a048740569b1"


def test_key_ignores_dict_order_but_not_content_or_model():
    reordered = [{"content": m["content"], "role": m["role"]} for m in MESSAGES]
    assert cassette_key("gpt-4o-mini", reordered) == cassette_key("gpt-4o-mini", MESSAGES)
    assert cassette_key("gpt-4o", MESSAGES) != cassette_key("gpt-4o-mini", MESSAGES)
    changed = [MESSAGES[0], {"role": "user", "content": "Who? "}]
    assert cassette_key("gpt-4o-mini", changed) != cassette_key("gpt-4o-mini", MESSAGES)


# -- scripted answers ----------------------------------------------------------------------------

def test_scripted_ids_render_to_source_numbers():
    sources = [passage("alpha"), passage("beta", copies=("beta-wire",))]
    text = render_scripted("A [@beta]. B [@alpha]. C [@beta-wire] [@beta].", sources, frozenset({"alpha", "beta", "beta-wire"}))
    assert text == "A [2]. B [1]. C [2]."


def test_an_article_that_was_not_retrieved_loses_its_marker_and_the_sentence_is_unsupported():
    sources = [passage("alpha", "Microsoft is training MAI-1, a model with 500 billion parameters.")]
    script = "MAI-1 has 500 billion parameters [@alpha]. It was trained on 15,000 H100 chips [@gamma]."
    text = render_scripted(script, sources, frozenset({"alpha", "gamma"}))
    assert text == "MAI-1 has 500 billion parameters [1]. It was trained on 15,000 H100 chips."
    checked = check_answer(text, sources, {"alpha": sources[0].text})
    assert checked.unsupported_sentences == ["It was trained on 15,000 H100 chips."]


def test_an_unknown_id_renders_out_of_range_and_literal_markers_stay():
    sources = [passage("alpha"), passage("beta")]
    text = render_scripted("X [@alpha]. Y [@no-such-article]. Z [9].", sources, frozenset({"alpha", "beta"}))
    assert text == "X [1]. Y [7]. Z [9]."
    checked = check_answer(text, sources, {})
    assert any("citation [7] does not match any source" in w for w in checked.warnings)


# -- replay ----------------------------------------------------------------------------------------

def _turn(script: str | None, sources=(), force: bool = False) -> Turn:
    return Turn("case-1", script, lambda: list(sources), force_script=force)


def test_replay_serves_a_cassette_before_a_script(tmp_path):
    store = CassetteStore(tmp_path)
    store.save("replay-model", MESSAGES, completion_body("From the cassette [1].", "replay-model", "k"))
    replayer = Replayer(store, frozenset({"alpha"}))
    chat = replay_chat_model("replay-model")
    with replaying(replayer):
        replayer.start(_turn("From the script [@alpha].", [passage("alpha")]))
        assert chat.complete(MESSAGES) == "From the cassette [1]."
        assert replayer.served == "cassette"
        # Adversarial scripts are always served as written, recording or not.
        replayer.start(_turn("From the script [@alpha].", [passage("alpha")], force=True))
        assert chat.complete(MESSAGES) == "From the script [1]."
        assert replayer.served == "scripted"


def test_a_request_without_cassette_or_script_fails_clearly(tmp_path):
    replayer = Replayer(CassetteStore(tmp_path), frozenset())
    chat = replay_chat_model("replay-model")
    with replaying(replayer):
        replayer.start(_turn(None))
        with pytest.raises(LLMUnavailableError):
            chat.complete(MESSAGES)
    assert isinstance(replayer.error, CassetteMissingError)
    assert "re-record: the prompt or the retrieval changed" in replayer.error.message
    assert "case 'case-1'" in replayer.error.message
    assert cassette_key("replay-model", MESSAGES) in replayer.error.message


def test_replay_never_reaches_the_network(tmp_path):
    replayer = Replayer(CassetteStore(tmp_path), frozenset())
    with replaying(replayer):
        with pytest.raises(respx.models.AllMockedAssertionError):
            httpx.get("https://api.openai.com/v1/models")
        with pytest.raises(respx.models.AllMockedAssertionError):
            httpx.post(REPLAY_BASE_URL + "/embeddings", json={})


# -- record ----------------------------------------------------------------------------------------

def test_recorder_writes_the_response_and_never_the_key(tmp_path):
    secret = "sk-test-5ecret-never-written"
    settings = Settings(index_dir=tmp_path / "index", llm_api_key=secret, llm_max_retries=0)
    store = CassetteStore(tmp_path / "cassettes")
    body = completion_body("Live answer [1].", "live-model", "live")
    with respx.mock(base_url="http://live.test/v1", assert_all_called=True) as live:
        route = live.post("/chat/completions").mock(return_value=httpx.Response(200, json=body))
        chat, transport = live_chat_model(settings, base_url="http://live.test/v1", model="live-model",
                                          store=store, case_id=lambda: "case-9")
        assert chat.complete(MESSAGES) == "Live answer [1]."
    # The key did go to the endpoint, so its absence from the file means something.
    assert route.calls.last.request.headers["authorization"] == f"Bearer {secret}"
    [path] = transport.written
    raw = path.read_text(encoding="utf-8")
    assert secret not in raw and "authorization" not in raw.lower() and "bearer" not in raw.lower()
    record = json.loads(raw)
    assert record["key"] == cassette_key("live-model", MESSAGES) == path.stem
    assert record["model"] == "live-model" and record["case_id"] == "case-9"
    assert record["response"]["choices"][0]["message"]["content"] == "Live answer [1]."
    assert transport.last_content == "Live answer [1]."

    # What was recorded replays offline.
    replayer = Replayer(store, frozenset())
    with replaying(replayer):
        replayer.start(_turn(None))
        assert replay_chat_model("live-model").complete(MESSAGES) == "Live answer [1]."


def test_recorder_keeps_failed_calls_out_of_the_cassettes(tmp_path):
    settings = Settings(index_dir=tmp_path / "index", llm_api_key="sk-x", llm_max_retries=0)
    store = CassetteStore(tmp_path / "cassettes")
    with respx.mock(base_url="http://live.test/v1") as live:
        live.post("/chat/completions").mock(return_value=httpx.Response(500, json={"error": {"message": "boom"}}))
        chat, transport = live_chat_model(settings, base_url="http://live.test/v1", model="m", store=store,
                                          case_id=lambda: None)
        with pytest.raises(LLMUnavailableError):
            chat.complete(MESSAGES)
    assert transport.written == [] and not (tmp_path / "cassettes").exists()
