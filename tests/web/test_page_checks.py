"""The reading page's first-hour fixes, in Chromium: the open article's headline is never
under "Close article", a refusal is not marked corroborated, an empty question and an
unknown outlet are said in words, and the votes are drawn, not emoji."""

from __future__ import annotations

import httpx
import pytest

from tests.web.test_page import ask, wait_done

pytestmark = pytest.mark.e2e

REFUSED_WITH_A_WIRE_COPY = "How many people attended the EU AI Act signing ceremony?"


def uncovered(page, selector: str) -> bool:
    """Every corner of the element is itself (or inside it) at that point of the screen:
    nothing is drawn over it."""
    return page.eval_on_selector(selector, """el => {
        const r = el.getBoundingClientRect();
        const inset = 2;
        return [[r.left + inset, r.top + inset], [r.right - inset, r.top + inset],
                [r.left + inset, r.bottom - inset], [r.right - inset, r.bottom - inset]]
            .every(([x, y]) => { const hit = document.elementFromPoint(x, y); return hit && el.contains(hit); });
    }""")


def test_the_headline_stays_in_view_beside_close_article(page, components):
    from tests.conftest import make_article
    from tests.web.conftest import open_settings, serving

    title = ("Harbour ferry fleet to switch to hydrogen fuel cells by 2031 after a long council budget debate "
             "over parks, libraries and road repairs")
    filler = "\n\n".join(f"Paragraph {i} of the council's budget minutes records routine spending on parks, "
                          f"libraries and road repairs, item {i}." for i in range(1, 80))
    fact = "The harbour ferry fleet will switch to hydrogen fuel cells by 2031, the transport board said."
    components.ingester.ingest([make_article("council", text=filler + "\n\n" + fact, title=title)])
    with serving(open_settings(components.settings.index_dir), components) as url:
        ask(page, url, "When will the harbour ferry fleet switch to hydrogen fuel cells?")
        wait_done(page)
        page.locator("#answer a.cite").first.click()
        page.wait_for_selector("#article-text mark")
        assert page.eval_on_selector("#article", "panel => panel.scrollTop") > 500  # scrolled to the quote
        assert page.text_content("#article-title") == title
        assert uncovered(page, "#article-title") and uncovered(page, "#article-close")
        assert uncovered(page, "#article-text mark")  # the quote is not under the bar either


def test_a_refusal_is_not_marked_corroborated(page, extractive_server):
    answer = httpx.post(f"{extractive_server}/v1/ask", json={"question": REFUSED_WITH_A_WIRE_COPY}).json()
    assert not answer["answerable"] and any(s["corroborations"] for s in answer["sources"])  # what the page is given
    ask(page, extractive_server, REFUSED_WITH_A_WIRE_COPY)
    wait_done(page)
    assert page.locator("[data-mark='refusal']").is_visible()
    assert page.locator("[data-mark='corroboration']").count() == 0 and "Corroborated" not in page.text_content("#marks")


def test_an_empty_question_says_so(page, extractive_server):
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/v1/ask" in request.url else None)
    page.goto(extractive_server + "/")
    page.get_by_role("button", name="Ask").click()
    error = page.locator("#question-error")
    assert error.is_visible() and "empty" in error.text_content()
    assert page.get_attribute("#question", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "question"
    page.get_by_label("Your question").fill("What")
    assert error.is_hidden() and page.get_attribute("#question", "aria-invalid") == "false"
    assert asked == [] and page.is_hidden("#result")


@pytest.mark.parametrize(("typed", "meant"), [
    ("Ledger Wire", "The Ledger Wire"),
    ("the ledger wire", "The Ledger Wire"),
    ("Nortgate Business Reveiw", "Northgate Business Review"),
])
def test_an_unknown_outlet_is_named_with_the_one_meant(page, extractive_server, typed, meant):
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/v1/ask" in request.url else None)
    ask(page, extractive_server, "How much did OpenAI raise in October 2024?", outlets=typed)
    problem = page.locator("#problem")
    problem.wait_for(state="visible")
    assert f"No outlet named “{typed}”; did you mean “{meant}”?" in problem.text_content()
    assert asked == [] and page.is_enabled("#ask-button")

    page.get_by_label("Outlets", exact=True).fill(meant)
    page.get_by_role("button", name="Ask").click()
    wait_done(page)
    assert page.is_hidden("#problem") and page.locator("#answer a.cite").count() >= 1
    outlets = [m.text_content().strip() for m in page.locator("#sources .meta").all()]
    assert outlets and all(o.startswith(meant) for o in outlets)


def test_the_votes_are_drawn_not_emoji(page, extractive_server):
    ask(page, extractive_server, "How much did Amazon invest in Anthropic in November 2024?")
    wait_done(page)
    for button in ("#vote-up", "#vote-down"):
        icon = page.locator(f"{button} svg")
        assert icon.count() == 1 and icon.get_attribute("aria-hidden") == "true"
        box = icon.bounding_box()
        assert box["width"] >= 12 and box["height"] >= 12
    assert not any(ch in page.text_content("#feedback") for ch in "👍👎")
    # Voting writes to the store: test_page.py votes on an index of its own, not on the shared sample.
