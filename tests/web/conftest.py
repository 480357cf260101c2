"""The reading page in a real browser: Debian's Chromium driven by Playwright for Python,
against `newsdesk serve`'s own app (the CLI's composition) in a uvicorn thread.

Playwright cannot download a browser here, so it launches /usr/bin/chromium
(`apt-get install chromium`); without it these tests are skipped and say why. The LLM
behind the server is mocked with respx in this process, which the server thread shares.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.cli.commands import build_server_app
from service.components import Components
from tests.api.conftest import llm_settings, sharing
from tests.api.test_e2e import uvicorn_thread
from tests.conftest import make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("NEWSDESK_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("the browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def open_settings(index_dir: Path, *, llm: bool = False, **overrides):
    """Settings with a keys collection of the test's own: no key exists, the server is open."""
    overrides.setdefault("keys_collection", f"keys-{uuid.uuid4().hex[:12]}")
    return llm_settings(index_dir, **overrides) if llm else make_settings(index_dir, **overrides)


def serve_app(settings, components: Components):
    """`newsdesk serve`'s app over exactly these components, in a uvicorn thread."""
    return uvicorn_thread(build_server_app(settings, components, host="127.0.0.1"))


@contextmanager
def serving(settings, components: Components) -> Iterator[str]:
    with serve_app(settings, sharing(components, settings)) as url:
        yield url


@pytest.fixture
def extractive_server(sample_index) -> Iterator[str]:
    with serving(open_settings(sample_index.settings.index_dir), sample_index) as url:
        yield url


@pytest.fixture
def llm_server(sample_index, respx_mock) -> Iterator[str]:
    respx_mock.route(host="127.0.0.1").pass_through()
    with serving(open_settings(sample_index.settings.index_dir, llm=True), sample_index) as url:
        yield url


@pytest.fixture(scope="session")
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def check_accessibility(axe_source) -> Callable:
    def check(page) -> list[dict]:
        """axe-core's WCAG 2.x A/AA rules on the page as it is now; the serious and critical
        violations, with the elements they name."""
        page.evaluate(axe_source)  # evaluated, not a <script>: the page's CSP allows no inline code
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(' '))}));
        }""")
        return [v for v in result if v["impact"] in ("serious", "critical")]

    return check


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
