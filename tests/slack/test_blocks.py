"""Block Kit formatting: pure functions of an `Answer`."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.models import Answer, Citation
from service.slack import blocks


def citation(n=1, quote="Nvidia reported record revenue.", url="https://news.example/a", **kw) -> Citation:
    values = dict(n=n, article_id=f"a{n}", title=f"Title {n}", outlet="Test Wire",
                  url=url, published_at="2025-02-01T00:00:00+00:00", quote=quote, start=0, end=len(quote), score=1.0)
    values.update(kw)
    return Citation(**values)


def answer(text="Nvidia reported record revenue [1].", citations=None, **kw) -> Answer:
    values = dict(answer=text, answerable=True, mode="llm",
                  citations=[citation()] if citations is None else citations, sources=[], warnings=[],
                  unsupported_sentences=[], prompt_id="answer.v1", model="m", request_id="r" * 32, timings_ms={})
    values.update(kw)
    return Answer(**values)


def all_text(message: list[dict]) -> str:
    parts = []
    for block in message:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(e["text"] if isinstance(e["text"], str) else e["text"]["text"] for e in block.get("elements", []))
    return "\n".join(parts)


def test_llm_answer_has_markers_sources_and_buttons_without_a_mode_note():
    message = blocks.answer_blocks(answer())
    assert message[0]["text"]["text"] == "Nvidia reported record revenue [1]."
    text = all_text(message)
    assert "*[1]* <https://news.example/a|Title 1>" in text
    assert "Test Wire · 2025-02-01" in text
    assert "> Nvidia reported record revenue." in text
    assert "Extractive" not in text and "Degraded" not in text
    actions = message[-1]
    assert actions["type"] == "actions"
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        ("feedback_up", "r" * 32), ("feedback_down", "r" * 32),
    ]


def test_extractive_and_degraded_answers_say_so():
    assert blocks.EXTRACTIVE_NOTE in all_text(blocks.answer_blocks(answer(mode="extractive")))
    degraded = answer(mode="extractive", degraded=True, degraded_reason="model m unavailable after 1 attempt(s): timeout")
    text = all_text(blocks.answer_blocks(degraded))
    assert ("Degraded: the language model was unavailable (model m unavailable after 1 attempt(s): timeout); "
            "answered extractively") in text
    assert "Degraded" in blocks.answer_text(degraded)


def test_disagreeing_sources_are_called_out_and_an_ordinary_answer_is_not():
    note = "Note that the sources give different figures: $6.6 billion [1] versus $6.5 billion [2]."
    text = all_text(blocks.answer_blocks(answer(conflicts=[note])))
    assert ":warning: *Sources disagree.* " + note in text
    assert "Sources disagree" not in all_text(blocks.answer_blocks(answer()))


def test_a_source_without_url_is_listed_unlinked_and_each_source_once():
    cites = [citation(1, quote="First claim here."), citation(1, quote="Second claim here."),
             citation(2, url=None, title="No link", outlet=None, published_at=None)]
    message = blocks.answer_blocks(answer("A [1]. B [1]. C [2].", citations=cites))
    sources = [b["text"]["text"] for b in message if b["type"] == "section" and b["text"]["text"].startswith("*[")]
    assert len(sources) == 2
    assert "> First claim here.\n> Second claim here." in sources[0]
    assert sources[1].startswith("*[2]* No link\nundated")


def test_mrkdwn_is_escaped_and_links_cannot_be_broken():
    cites = [citation(title="Q&A: <b> | x", url="https://news.example/a?x=1&y=2")]
    message = blocks.answer_blocks(answer("Use <!channel> & more [1].", citations=cites))
    assert message[0]["text"]["text"] == "Use &lt;!channel&gt; &amp; more [1]."
    assert "<https://news.example/a?x=1&y=2|Q&amp;A: &lt;b&gt; ¦ x>" in all_text(message)
    assert blocks.link("javascript:alert(1)", "t") == "t"
    assert blocks.link("https://x.example/a>b", "t") == "t"


def test_unanswerable_answer_has_no_sources():
    message = blocks.answer_blocks(answer("Not found in the indexed articles.", citations=[], answerable=False))
    assert not any(b["type"] == "divider" for b in message)
    assert message[-1]["type"] == "actions"


@given(st.text(min_size=0, max_size=9000), st.text(min_size=1, max_size=5000))
def test_every_block_stays_within_slack_limits(text, quote):
    cites = [citation(n, quote=quote, title=quote[:400]) for n in range(1, 30)]
    message = blocks.answer_blocks(answer(text, citations=cites, mode="extractive", degraded=True,
                                          degraded_reason=quote))
    assert len(message) <= 50
    for block in message:
        if "text" in block:
            assert len(block["text"]["text"]) <= blocks.SECTION_LIMIT
        for element in block.get("elements", []):
            if isinstance(element.get("text"), str):
                assert len(element["text"]) <= blocks.SECTION_LIMIT
    assert len(blocks.answer_text(answer(text))) <= blocks.FALLBACK_LIMIT


def test_truncate_marks_the_cut():
    assert blocks.truncate("abcdef", 4) == "abc…"
    assert blocks.truncate("abc", 4) == "abc"


def test_error_message_carries_the_request_id():
    assert blocks.error_text("abc123") == "Sorry, I couldn't answer that (request abc123). Please try again in a moment."
    assert "abc123" in blocks.error_blocks("abc123")[0]["text"]["text"]
