"""The README's first hour, as a new user runs it: `newsdesk serve` over a fresh index (it
indexes the sample corpus), then, from another process, exactly the README's commands:
an article of one's own ingested with the CLI and asked about, and the API asked with curl.
The CLI finds the server by the address it left beside the index (docs/cli.md), so the
server answers about the new article at once, by meaning as well as by keyword; and no
process leaves a private copy of the lexical index behind. `newsdesk watch` writes through
the server the same way."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.config import DEFAULT_CORPUS_DIR, REPO_DIR
from tests.conftest import free_port, stop_process, wait_http
from tests.ingest.fake_feeds import FeedServer, rss, rss_item, static

BIN = Path(sys.executable).parent
NEWSDESK = shutil.which("newsdesk", path=str(BIN))
STARTUP_S = 600  # the sample corpus is embedded first, on a machine shared with other tests

pytestmark = pytest.mark.e2e


def readme_commands() -> str:
    """The README's commands for "another shell": the first bash block after that sentence."""
    readme = (REPO_DIR / "README.md").read_text(encoding="utf-8")
    after = readme[readme.index("Then, in another shell"):]
    return re.search(r"```bash\n(.*?)```", after, re.S).group(1)


class Served:
    def __init__(self, url: str, folder: Path, env: dict[str, str], log: Path):
        self.url, self.folder, self.env, self.log = url, folder, env, log

    def run(self, *args: str, script: str | None = None) -> subprocess.CompletedProcess:
        """A command (or a bash script) in the folder the server was started from."""
        command = ["bash", "-eo", "pipefail", "-c", script] if script is not None else [NEWSDESK, *args]
        return subprocess.run(command, cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=600)

    def ask(self, question: str) -> dict:
        response = httpx.post(f"{self.url}/v1/ask", json={"question": question}, timeout=120)
        assert response.status_code == 200, response.text
        return response.json()

    def private_copies(self) -> list[Path]:
        return sorted(Path(self.env["TMPDIR"]).glob("newsdesk-lexical-*"))


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """`make serve`'s command in a fresh folder holding the repository's sample corpus."""
    assert NEWSDESK, "the `newsdesk` script is not installed next to this Python"
    folder = tmp_path_factory.mktemp("first-hour")
    (folder / "corpus").symlink_to(DEFAULT_CORPUS_DIR)
    (folder / "tmp").mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NEWSDESK_", "OPENAI_"))}
    env.update({"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "ANONYMIZED_TELEMETRY": "False",
                "TMPDIR": str(folder / "tmp")})
    port = free_port()
    log = folder / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([NEWSDESK, "serve", "--port", str(port)], cwd=folder, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        wait_http(f"{url}/healthz", timeout=STARTUP_S)
        print(f"newsdesk serve over a fresh index answered after {time.monotonic() - started:.1f} s")
        yield Served(url, folder, env, log)
    finally:
        stop_process(proc)
    assert not (folder / "indexes" / "serve.json").exists(), "serve left its address behind"


def test_the_readme_sequence_is_answered_by_the_running_server(served):
    assert f"open {served.url}/" in served.log.read_text(errors="replace")
    assert json.loads((served.folder / "indexes" / "serve.json").read_text())["url"] == served.url

    started = time.monotonic()
    done = served.run(script=readme_commands().replace("localhost:8000", served.url.removeprefix("http://")))
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"README commands (ingest, ask, curl) took {elapsed:.1f} s")

    out = done.stdout
    assert "ingesting through it" in out and "ingest into 'newsdesk' at " + served.url in out
    # `newsdesk ask`, answered by the server: the new article, cited with its quote.
    assert "1,200 passengers" in out and "[1] Brontavia ferry back in service (Harbour Post, 2025-06-02)" in out
    # curl's JSON answer follows the CLI's output.
    curl = json.loads(out[out.index('{"answer"'):])
    assert curl["answerable"] and curl["citations"]
    # And the server itself, asked directly, answers and cites the new article. Before, its
    # dense path could not see another process's write, and the gate refused ("Not found").
    answer = served.ask("How many passengers crossed on the Brontavia ferry's first day back?")
    assert answer["answerable"] and answer["citations"][0]["title"] == "Brontavia ferry back in service"
    assert served.private_copies() == []  # the CLI made none: it went through the server


def test_ask_and_delete_go_through_the_server(served):
    timings = []
    for _ in range(3):
        started = time.monotonic()
        done = served.run("ask", "What is Microsoft's in-house model called?", "--json")
        timings.append(time.monotonic() - started)
        assert done.returncode == 0, done.stderr
    print(f"newsdesk ask with a running server: {', '.join(f'{t:.2f}' for t in timings)} s")
    assert json.loads(done.stdout)["citations"]
    assert "private copy" not in done.stderr

    refused = served.run("ask", "")
    assert refused.returncode == 1 and refused.stderr.strip().splitlines() == [
        'newsdesk: error: the question is empty: ask something, e.g. newsdesk ask "Who leads Microsoft AI?"']
    gone = served.run("delete", "no-such-article")
    assert gone.returncode == 1 and gone.stderr.strip() == "newsdesk: error: no article with id 'no-such-article'"
    assert served.private_copies() == []


def test_watch_ingests_through_the_server(served):
    feed = FeedServer()
    try:
        text = ["The Ostrava cable car reopened on Friday after a new braking system was fitted.",
                "It carried 3,400 riders over the weekend, the transit company said."]
        feed.routes["/rss.xml"] = static(rss(rss_item("cable-1", feed.url("/cable"), "Ostrava cable car reopens", text)))
        (served.folder / "feeds.yaml").write_text(f"feeds:\n  - url: {feed.url('/rss.xml')}\n    outlet: Valley Times\n")
        done = served.run("watch", "feeds.yaml", "--once")
        assert done.returncode == 0, done.stderr
        assert "articles_added 1" in done.stdout and "ingesting through newsdesk serve" in done.stderr

        answer = served.ask("How many riders did the Ostrava cable car carry over the weekend?")
        assert answer["answerable"] and answer["citations"][0]["article_id"] == feed.url("/cable")

        again = served.run("watch", "feeds.yaml", "--once")
        assert again.stdout.strip() == "no feed was due" and "--once --force" in again.stderr
        forced = served.run("watch", "feeds.yaml", "--once", "--force")
        assert "feeds_polled 1" in forced.stdout and "items_seen_before 1" in forced.stdout
    finally:
        feed.close()
