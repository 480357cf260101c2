"""POST /v1/timeline, and /v1/ask answering "how did X develop?" with the same timeline."""

from __future__ import annotations

import json

SONNET_FIX = "silicon-2024-06-24-correction-claude-3-5-sonnet"


def test_a_timeline_is_dated_steps_oldest_first_each_cited(api):
    response = api.post("/v1/timeline", json={"topic": "Claude 3.5 Sonnet launch and pricing"})
    assert response.status_code == 200, response.text
    body = response.json()
    steps = body["steps"]
    assert body["topic"] == "Claude 3.5 Sonnet launch and pricing" and body["request_id"]
    assert [s["date"] for s in steps] == sorted(s["date"] for s in steps)
    for step in steps:
        article = api.get(f"/v1/articles/{step['citation']['article_id']}").json()["text"]
        assert article[step["citation"]["start"]:step["citation"]["end"]] == step["text"] == step["citation"]["quote"]
    fix = next(s for s in steps if s["citation"]["article_id"] == SONNET_FIX)
    assert fix["kind"] == "correction" and fix["corrects"]["article_id"] == "silicon-2024-06-20-claude-3-5-sonnet"
    assert fix["note"] == "Corrected: $5 → $3"


def test_filters_and_limits_apply(api):
    body = api.post("/v1/timeline", json={"topic": "Microsoft's in-house MAI models", "max_steps": 2,
                                          "filters": {"published_after": "2025-01-01"}}).json()
    assert 1 <= len(body["steps"]) <= 2 and all(s["date"] >= "2025" for s in body["steps"])
    assert api.post("/v1/timeline", json={"topic": "x", "max_steps": 0}).status_code == 422


def test_ask_answers_how_a_story_developed_with_its_timeline(api):
    body = api.post("/v1/ask", json={"question": "How did the EU AI Act develop?", "stream": False}).json()
    timeline = body["timeline"]
    assert timeline and timeline["topic"] == "the EU AI Act" and len(timeline["steps"]) >= 2
    assert body["answer"].startswith("How the EU AI Act developed, oldest first:")
    assert [c["n"] for c in body["citations"]] == [s["citation"]["n"] for s in timeline["steps"]]
    assert len(body["sources"]) == len(timeline["steps"]) and body["answerable"]


def test_ask_streams_the_timeline_too(api):
    with api.stream("POST", "/v1/ask", json={"question": "What happened with the EU AI Act?"},
                    headers={"Accept": "text/event-stream"}) as response:
        text = "".join(response.iter_text())
    names = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("event: ")]
    assert names == ["sources", "delta", "done"]
    done = json.loads(text.split("event: done\ndata: ", 1)[1].split("\n", 1)[0])
    assert done["timeline"]["steps"]


def test_other_questions_have_no_timeline(api):
    body = api.post("/v1/ask", json={"question": "How much did OpenAI raise in October 2024?", "stream": False}).json()
    assert "timeline" not in body
