"""The reading page's timeline and follow flow, in Chromium over real HTTP: a "how did X
develop?" answer as a vertical timeline whose citations open their exact spans, and a
question followed from under its answer until a correction's notice shows on the page."""

from __future__ import annotations

import httpx
import pytest

from tests.follows import stories
from tests.web.test_page import article_text, ask, highlighted, wait_done, wait_until

pytestmark = pytest.mark.e2e


def test_a_story_is_shown_as_a_dated_timeline_with_citation_links(page, extractive_server, artifacts,
                                                                   check_accessibility):
    ask(page, extractive_server, "How did Claude 3.5 Sonnet launch and pricing develop?")
    wait_done(page)
    assert page.text_content("#answer") == "How Claude 3.5 Sonnet launch and pricing developed, oldest first:"
    steps = page.locator("#timeline li")
    assert steps.count() >= 2
    dates = page.eval_on_selector_all("#timeline time", "ts => ts.map(t => t.getAttribute('datetime'))")
    assert dates == sorted(dates) and page.text_content("#timeline time") == "20 June 2024"
    correction = page.locator("#timeline li[data-kind='correction']")
    assert correction.count() == 1
    assert "Correction of “Anthropic launches Claude 3.5 Sonnet" in correction.text_content()
    assert "Corrected: $5 → $3" in correction.text_content()
    assert check_accessibility(page) == []
    page.screenshot(path=str(artifacts / "timeline.png"), full_page=True)

    correction.locator("a.cite").click()  # the same citation links as any answer
    page.wait_for_selector("#article-text mark")
    [mark] = highlighted(page)
    quote = correction.locator(".step-text").text_content().rsplit(" [", 1)[0]
    assert mark["text"] == quote
    text = article_text(extractive_server, "silicon-2024-06-24-correction-claude-3-5-sonnet")
    assert text[mark["start"]:mark["end"]] == quote
    page.screenshot(path=str(artifacts / "timeline-cited.png"), full_page=True)


def test_other_answers_show_no_timeline(page, extractive_server):
    ask(page, extractive_server, "How much did Amazon invest in Anthropic in November 2024?")
    wait_done(page)
    assert page.is_hidden("#timeline") and page.locator("#timeline li").count() == 0


def test_a_followed_question_shows_the_notice_of_a_correction(page, components, receiver, artifacts,
                                                              check_accessibility):
    from tests.web.conftest import open_settings, serving

    components.ingester.ingest([stories.BRIDGE, stories.ACADEMY, stories.FERRY])
    settings = open_settings(components.settings.index_dir, webhook_allow_hosts="127.0.0.1", follow_poll_ms=100)
    with serving(settings, components) as url:
        ask(page, url, stories.BRIDGE_Q)
        wait_done(page)
        assert "$12 million" in page.text_content("#answer")
        page.get_by_label("Follow this question", exact=False).fill(receiver.url)
        page.get_by_role("button", name="Follow").click()
        wait_until(page, "document.querySelector('#follow-status').textContent.includes('Following.')")
        assert "whsec_" in page.text_content("#follow-status")
        page.get_by_role("button", name="Show notices").click()
        wait_until(page, "document.querySelector('#notices').textContent.includes('No notices yet')")

        # A correction arrives through the API; the server's follower re-answers and notifies.
        response = httpx.post(f"{url}/v1/articles", json={
            "id": stories.BRIDGE_FIX.article_id, "title": stories.BRIDGE_FIX.title, "text": stories.BRIDGE_FIX.text,
            "source": stories.BRIDGE_FIX.outlet, "published_at": stories.BRIDGE_FIX.published_at.isoformat()})
        assert response.status_code in (200, 201), response.text
        receiver.wait_for(lambda r: len(r.accepted()) == 1, timeout=30)
        page.get_by_role("button", name="Show notices").click()
        wait_until(page, "document.querySelector('#notices').textContent.includes('Corrected')")
        notices = page.text_content("#notices")
        assert "Corrected: $12 million → $21 million [" in notices and "sent after 1 attempt(s)" in notices
        assert check_accessibility(page) == []
        page.screenshot(path=str(artifacts / "follow.png"), full_page=True)
    assert len(receiver.accepted()) == 1
