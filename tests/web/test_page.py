"""The reading page at `/`, as a reader uses it: in Chromium, over real HTTP, with the
sample corpus behind it. What is asserted is what the reader sees."""

from __future__ import annotations

import json
import re
import time
import tomllib
from fnmatch import fnmatch
from urllib.parse import quote

import httpx
import pytest

from service.answer.engine import NOT_FOUND
from service.web.page import STATIC_DIR
from tests.api.fakes import CHAT_URL, completion_response, server_error, stream_body

pytestmark = pytest.mark.e2e

MISTRAL = "glasshouse-2025-03-18-mistral-small-3-1"
MISTRAL_Q = "What is the context window of Mistral Small 3.1?"
PARTS = ["Mistral Small 3.1 has an expanded ", "context window of up to ", "128,000 tokens [1]. ",
         "It is released under the Apache 2.0 licence [1]."]
OPENAI_Q = "How much did OpenAI raise in its October 2024 funding round, and at what valuation?"


class SlowStream(httpx.SyncByteStream):
    """The model's SSE body, one chunk at a time with a pause: the page must show text
    before the answer is complete."""

    def __init__(self, body: bytes, pause_s: float):
        self.blocks = [block + b"\n\n" for block in body.split(b"\n\n") if block]
        self.pause_s = pause_s

    def __iter__(self):
        for block in self.blocks:
            time.sleep(self.pause_s)
            yield block


def llm_reply(text_parts: list[str], pause_s: float = 0.0):
    """A respx side effect: streamed when newsdesk streams, whole otherwise."""

    def reply(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            return httpx.Response(200, stream=SlowStream(stream_body(text_parts), pause_s),
                                  headers={"content-type": "text/event-stream"})
        return completion_response("".join(text_parts))

    return reply


def wait_until(page, expression: str, timeout_s: float = 30.0) -> None:
    """Polls from Python: `wait_for_function` compiles its predicate with eval, which the
    page's Content Security Policy (rightly) forbids."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s}s: {expression}"
        time.sleep(0.05)


def ask(page, url: str, question: str, **filters: str) -> None:
    page.goto(url + "/")
    page.get_by_label("Your question").fill(question)
    if filters:
        page.get_by_text("Filters").click()
        for label, value in filters.items():
            page.get_by_label(label.replace("_", " ").capitalize(), exact=True).fill(value)
    page.get_by_role("button", name="Ask").click()


def wait_done(page) -> None:
    page.wait_for_selector("#result[aria-busy='false']")
    wait_until(page, "document.querySelector('#feedback').hidden === false "
                     "|| document.querySelector('#problem').hidden === false")


def api_answer(url: str, question: str) -> dict:
    response = httpx.post(f"{url}/v1/ask", json={"question": question, "stream": False})
    assert response.status_code == 200, response.text
    return response.json()


def article_text(url: str, article_id: str) -> str:
    return httpx.get(f"{url}/v1/articles/{quote(article_id, safe='')}").json()["text"]


def highlighted(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#article-text mark", "marks => marks.map(m => ({text: m.textContent, start: +m.dataset.start, end: +m.dataset.end}))")


def in_view(page, selector: str) -> bool:
    return page.eval_on_selector(selector, """el => {
        const r = el.getBoundingClientRect(), box = el.closest('.article').getBoundingClientRect();
        return r.top >= Math.max(box.top, 0) - 1 && r.bottom <= Math.min(box.bottom, window.innerHeight) + 1;
    }""")


# -- asking and reading ---------------------------------------------------------------------------

def test_the_answer_streams_in_and_a_citation_opens_its_exact_span(page, llm_server, respx_mock, artifacts,
                                                                   check_accessibility):
    respx_mock.post(CHAT_URL).mock(side_effect=llm_reply(PARTS, pause_s=0.4))
    ask(page, llm_server, MISTRAL_Q)

    # Text shows while the answer is still being written.
    wait_until(page, "document.querySelector('#answer').textContent.includes('expanded')")
    assert page.get_attribute("#result", "aria-busy") == "true"
    assert "Apache" not in page.text_content("#answer")
    wait_done(page)
    assert page.text_content("#answer") == "".join(PARTS)
    links = page.locator("#answer a.cite")
    assert links.count() == 2 and links.first.text_content() == "1"
    assert page.locator("#marks [data-mark]").count() == 0  # an LLM answer, whole and unqualified

    links.first.click()
    page.wait_for_selector("#article-text mark")
    expected = [c for c in api_answer(llm_server, MISTRAL_Q)["citations"] if c["n"] == 1]
    text = article_text(llm_server, MISTRAL)
    marks = highlighted(page)
    assert [(m["start"], m["end"]) for m in marks] == sorted((c["start"], c["end"]) for c in expected)
    for m in marks:
        assert m["text"] == text[m["start"]:m["end"]]
    assert any("128,000 tokens" in m["text"] for m in marks)
    assert page.text_content("#article-text") == text  # the article whole, nothing lost around the marks
    assert page.text_content("#article-title") == page.text_content("#source-1 .source-open")
    assert in_view(page, "#article-text mark")
    assert page.evaluate("document.activeElement.tagName") == "MARK"

    assert check_accessibility(page) == []
    shot = artifacts / "reading-page-cited-answer.png"
    page.screenshot(path=str(shot), full_page=False)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_a_quote_deep_in_a_long_article_is_scrolled_into_view(page, components):
    from tests.conftest import make_article
    from tests.web.conftest import open_settings, serving

    filler = "\n\n".join(f"Paragraph {i} of the council's budget minutes records routine spending on parks, "
                          f"libraries and road repairs, item {i}." for i in range(1, 80))
    fact = "The harbour ferry fleet will switch to hydrogen fuel cells by 2031, the transport board said."
    text = filler + "\n\n" + fact + "\n\nThe meeting closed at nine."
    components.ingester.ingest([make_article("council-minutes", text=text, title="Council minutes")])
    with serving(open_settings(components.settings.index_dir), components) as url:
        ask(page, url, "When will the harbour ferry fleet switch to hydrogen fuel cells?")
        wait_done(page)
        page.locator("#answer a.cite").first.click()
        page.wait_for_selector("#article-text mark")
        marks = highlighted(page)
        assert any(m["text"] == fact for m in marks) and all(m["text"] == text[m["start"]:m["end"]] for m in marks)
        assert page.eval_on_selector("#article", "panel => panel.scrollTop") > 500  # the panel itself scrolled
        assert in_view(page, "#article-text mark")
        # The answer stayed on screen beside it.
        assert page.eval_on_selector("#answer a.cite", "a => { const r = a.getBoundingClientRect(); "
                                                       "return r.top >= 0 && r.bottom <= window.innerHeight; }")


def test_a_refusal_is_marked_and_cites_nothing(page, extractive_server):
    ask(page, extractive_server, "What is the best recipe for banana bread?")
    wait_done(page)
    assert page.text_content("#answer") == NOT_FOUND
    refusal = page.locator("[data-mark='refusal']")
    assert refusal.is_visible() and "Not found" in refusal.text_content()
    assert page.locator("#answer a.cite").count() == 0
    assert page.locator("#sources li").count() == 0 and not page.is_visible("#sources-heading")
    assert page.locator("[data-mark='extractive']").count() == 0


def test_a_conflict_is_marked_and_each_side_opens_its_own_article(page, llm_server, respx_mock, sample_index, artifacts):
    # The source numbers retrieval gives each side (the passage that holds the figure).
    sources = sample_index.engine.ask(OPENAI_Q).sources
    ledger = next(s.n for s in sources if "ledger" in s.article_id and "$6.6 billion" in s.text)
    northgate = next(s.n for s in sources if "northgate" in s.article_id and "$6.5 billion" in s.text)
    answer = (f"The sources disagree: The Ledger Wire reported that OpenAI raised $6.6 billion at a post-money "
              f"valuation of $157 billion [{ledger}], while Northgate reported $6.5 billion at $150 billion [{northgate}].")
    respx_mock.post(CHAT_URL).mock(side_effect=llm_reply([answer]))
    ask(page, llm_server, OPENAI_Q)
    wait_done(page)

    conflict = page.locator("[data-mark='conflict']")
    assert conflict.is_visible() and "Sources disagree" in conflict.text_content()
    page.locator(f"#answer a.cite[data-n='{northgate}']").click()
    page.wait_for_selector("#article-text mark")
    text = article_text(llm_server, "northgate-2024-10-03-openai-funding")
    marks = highlighted(page)
    assert marks and all(m["text"] == text[m["start"]:m["end"]] for m in marks)
    assert any("$6.5 billion" in m["text"] for m in marks)
    assert "Northgate" in page.text_content("#article-meta")
    page.screenshot(path=str(artifacts / "reading-page-conflict.png"))


def test_extractive_answers_and_wire_copies_are_marked(page, extractive_server):
    ask(page, extractive_server, "When did the EU rules for general-purpose AI models take effect, and did Meta sign?")
    wait_done(page)
    assert "without a language model" in page.text_content("[data-mark='extractive']")
    assert "same text" in page.text_content("[data-mark='corroboration']")
    corroborated = page.locator("#sources .corroboration").first
    assert corroborated.is_visible() and "Also carried by 1 other outlet" in corroborated.text_content()


def test_a_degraded_answer_says_the_model_was_unavailable(page, llm_server, respx_mock):
    respx_mock.post(CHAT_URL).mock(side_effect=lambda request: server_error())
    ask(page, llm_server, MISTRAL_Q)
    wait_done(page)
    degraded = page.locator("[data-mark='degraded']")
    assert degraded.is_visible() and "unavailable" in degraded.text_content()
    assert page.locator("#answer a.cite").count() >= 1


@pytest.mark.parametrize("filters, title, detail", [
    ({"published_on_or_after": "2025-01-01", "published_before": "2024-01-01"},
     "Request validation failed", "published_after must be earlier than published_before"),
    ({"collection": "no-such-collection"}, "Collection not found", "no-such-collection"),
])
def test_an_error_shows_the_problem_detail_not_a_stack_trace(page, extractive_server, filters, title, detail):
    ask(page, extractive_server, MISTRAL_Q, **filters)
    problem = page.locator("#problem")
    problem.wait_for(state="visible")
    shown = problem.text_content()
    assert title in shown and detail in shown and "Request id:" in shown
    assert "Traceback" not in page.content() and "File \"" not in shown
    assert page.locator("#answer a.cite").count() == 0 and page.is_enabled("#ask-button")


def test_an_error_mid_stream_is_shown_as_its_problem(page, sample_index):
    """The store fails after the answer began streaming: /v1/ask ends with an `error` event."""
    from service.errors import StoreUnavailableError
    from tests.api.conftest import sharing
    from tests.web.conftest import open_settings, serve_app

    def unreachable(article_ids):
        raise StoreUnavailableError("cannot read articles from the vector store: connection refused")

    settings = open_settings(sample_index.settings.index_dir)
    components = sharing(sample_index, settings)
    with serve_app(settings, components) as url:
        components.engine.article_texts = unreachable  # after start-up: retrieval works, the citation checks fail
        ask(page, url, MISTRAL_Q)
        page.locator("#problem").wait_for(state="visible")
        shown = page.text_content("#problem")
    assert "Vector store unavailable" in shown
    assert "cannot read articles from the vector store: connection refused" in shown
    assert "Request id:" in shown and "Traceback" not in page.content()
    assert page.locator("#answer a.cite").count() == 0 and page.is_hidden("#feedback")


# -- the keyboard, accessibility and keys ---------------------------------------------------------

def test_the_page_works_from_the_keyboard_alone(page, extractive_server, check_accessibility):
    page.goto(extractive_server + "/")
    assert check_accessibility(page) == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the question"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "question"
    page.keyboard.type("How much did Amazon invest in Anthropic in November 2024?")
    page.keyboard.press("Enter")
    wait_done(page)
    for _ in range(8):  # the ask button, the filters, then the answer's first citation
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('cite')"):
            break
    assert page.evaluate("document.activeElement.classList.contains('cite')")
    page.keyboard.press("Enter")
    page.wait_for_selector("#article-text mark")
    assert page.evaluate("document.activeElement.tagName") == "MARK"
    assert check_accessibility(page) == []
    page.keyboard.press("Escape")
    assert page.is_hidden("#article")
    assert page.evaluate("document.activeElement.classList.contains('cite')")


def test_with_keys_the_page_asks_for_one_and_keeps_it_in_the_session_only(browser, sample_index):
    from tests.web.conftest import open_settings, serving

    key = "nd_reading-page-" + "x" * 40
    settings = open_settings(sample_index.settings.index_dir, bootstrap_key=key)
    context = browser.new_context()
    page = context.new_page()
    try:
        with serving(settings, sample_index) as url:
            ask(page, url, "How much did Amazon invest in Anthropic in November 2024?")
            page.get_by_label("API key", exact=True).wait_for(state="visible")
            assert "Missing or invalid API key" in page.text_content("#problem")
            page.get_by_label("API key", exact=True).fill("nd_mistyped-" + "y" * 40)
            page.get_by_role("button", name="Use this key").click()
            wait_until(page, "document.querySelector('#key-form').hidden === false")  # asked again
            assert page.evaluate("sessionStorage.getItem('newsdesk.key')") is None
            assert "not valid" in page.text_content("#problem")
            page.get_by_label("API key", exact=True).fill(key)
            page.get_by_role("button", name="Use this key").click()
            wait_done(page)
            assert "4 billion" in page.text_content("#answer")
            assert page.evaluate("sessionStorage.getItem('newsdesk.key')") == key
            assert page.evaluate("localStorage.length") == 0
            assert key not in page.evaluate("document.cookie")
            # Reading a source sends the key too.
            page.locator("#answer a.cite").first.click()
            page.wait_for_selector("#article-text mark")
    finally:
        context.close()


# -- feedback ---------------------------------------------------------------------------------------

def test_a_vote_is_stored_with_the_answer_and_exported_as_an_eval_case(page, components, tmp_path):
    """On an index of its own: a vote writes to the store's feedback records."""
    from service.feedback import export_cases, read_feedback
    from service.ingest.loading import load_paths
    from tests.conftest import CORPUS_DIR
    from tests.web.conftest import open_settings, serving

    loaded = load_paths([p for p in sorted(CORPUS_DIR.iterdir()) if "anthropic" in p.name or "claude" in p.name])
    components.ingester.ingest(loaded.articles)
    question = "How much did Amazon invest in Anthropic in November 2024?"
    with serving(open_settings(components.settings.index_dir), components) as url:
        page.goto(url + "/")
        page.get_by_label("Your question").fill(question)
        with page.expect_response("**/v1/ask") as asked:
            page.get_by_role("button", name="Ask").click()
        wait_done(page)
        page.get_by_role("button", name="Yes", exact=True).click()
        wait_until(page, "document.querySelector('#feedback-status').textContent.includes('recorded')")
        assert page.get_attribute("#vote-up", "aria-pressed") == "true"
        page.get_by_role("button", name="No", exact=True).click()  # a change of mind replaces the vote
        wait_until(page, "document.querySelector('#vote-down').getAttribute('aria-pressed') === 'true'")

    (record,) = read_feedback(components.client)
    assert record["request_id"] == asked.value.headers["x-request-id"]
    assert record["origin"] == "web" and record["vote"] == "down" and record["question"] == question
    assert "4 billion" in record["answer"] and record["citations"]
    count = export_cases(components.client, tmp_path / "cases.jsonl")
    (case,) = [json.loads(line) for line in (tmp_path / "cases.jsonl").read_text().splitlines()]
    assert count == 1 and case["question"] == question and case["tags"] == ["feedback", "down"]


def test_a_vote_for_a_quote_the_article_does_not_hold_is_refused(extractive_server):
    answer = api_answer(extractive_server, "How much did Amazon invest in Anthropic in November 2024?")
    forged = [{**answer["citations"][0], "quote": "Amazon bought Anthropic outright."}]
    response = httpx.post(f"{extractive_server}/v1/feedback", json={
        "request_id": answer["request_id"], "vote": "up", "question": "Q?", "answer": answer["answer"],
        "answerable": True, "citations": forged, "reader": "r" * 24})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/invalid-feedback")


def test_the_page_is_served_with_a_strict_content_security_policy(extractive_server):
    modules = [(f"/web/{p.name}", "text/javascript") for p in STATIC_DIR.glob("*.js")]
    assert ("/web/app.js", "text/javascript") in modules and len(modules) > 1
    for path, kind in [("/", "text/html"), *modules, ("/web/app.css", "text/css")]:
        response = httpx.get(extractive_server + path)
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
        assert "script-src 'self'" in response.headers["content-security-policy"]
    missing = httpx.get(extractive_server + "/web/secrets.txt")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_every_module_the_page_imports_is_shipped_beside_it():
    """Module scripts load what they import by URL: a name that is not a file in static/
    (or not declared as package data) is a page that never starts."""
    imported = {"app.js"}
    for module in STATIC_DIR.glob("*.js"):
        imported |= set(re.findall(r'^import .* from "\./([\w-]+\.js)";$', module.read_text(encoding="utf-8"), re.M))
    assert imported == {p.name for p in STATIC_DIR.glob("*.js")}
    assert '<script type="module" src="/web/app.js"></script>' in (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    package_data = tomllib.loads((STATIC_DIR.parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = package_data["tool"]["setuptools"]["package-data"]["service"]
    for path in STATIC_DIR.iterdir():
        assert any(fnmatch(path.relative_to(STATIC_DIR.parents[1]).as_posix(), p) for p in patterns), path
