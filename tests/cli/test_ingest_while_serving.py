"""Issue 11, fault 3: `newsdesk ingest` into the embedded index a running process serves.

Embedded Chroma keeps each process's vector index in memory, so the serving process's dense
path cannot see another process's writes until it restarts (README, Decisions). A `serve`
that left its address beside the index is written through instead (tests/cli/test_first_hour.py);
here the holder left none (an older `serve`, `newsdesk mcp`): its lexical index follows the
change feed, so the articles are found by keyword at once, and the CLI warns that they are
not found by meaning until it restarts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_article

NEWSDESK = shutil.which("newsdesk", path=str(Path(sys.executable).parent))


def run_ingest(settings, path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSDESK_INDEX_DIR": str(settings.index_dir), "NEWSDESK_DEBUG": "0"}
    return subprocess.run([NEWSDESK, "ingest", str(path)], capture_output=True, text=True, env=env, timeout=300)


def test_cli_ingest_reaches_a_running_server_by_keyword_and_warns(components, settings, tmp_path):
    serving = components  # stands for `newsdesk serve`: it holds its lexical index open
    serving.ingester.ingest([make_article("a1")])
    assert serving.lexical.current().search("Brontavia", 5) == []
    article = {"id": "late", "title": "Brontavia ferry", "source": "Harbour Post",
               "text": "The Brontavia ferry resumed service on Monday. Passengers queued early."}
    (tmp_path / "late.json").write_text(json.dumps(article), encoding="utf-8")

    done = run_ingest(settings, tmp_path / "late.json")

    assert done.returncode == 0, done.stderr
    assert "answers from this embedded index" in " ".join(done.stderr.split())
    found = serving.retriever.search("When did the Brontavia ferry resume?")
    fused, chunks, lexical = found.fused, found.chunks, found.lexical_scores
    # no restart: found, and by keyword
    assert "late" in [chunks[cid].metadata["article_id"] for cid, _ in fused]
    assert [chunks[cid].metadata["article_id"] for cid in lexical] == ["late"]


def test_no_warning_when_nothing_serves_the_index(components, settings, tmp_path):
    components.ingester.ingest([make_article("a1")])  # the index exists, nobody holds it open
    (tmp_path / "b.json").write_text(json.dumps({"id": "b", "title": "B", "text": "A short story. It ends."}))
    done = run_ingest(settings, tmp_path / "b.json")
    assert done.returncode == 0, done.stderr
    assert "embedded index" not in done.stderr
