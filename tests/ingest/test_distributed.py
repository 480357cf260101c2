"""`newsdesk ingest --ray`: Ray Data on a local two-CPU Ray gives the very chunks of a
single-process ingest. Ray is an optional extra; CI installs it (`pip install -e ".[dev,ray]"`)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from service.components import Components
from service.ingest.loading import load_paths
from tests.conftest import CORPUS_DIR, make_settings

ray = pytest.importorskip("ray", reason="the optional extra is not installed: pip install -e '.[dev,ray]'")

# Every loader: Markdown, HTML, JSON, JSON Lines (several articles per file) and plain text.
FILES = [
    "bayline-2024-05-15-sutskever-leaves-openai.md",
    "bayline-2024-09-26-murati-departs-openai.html",
    "ledger-2024-07-23-meta-llama-3-1.json",
    "microsoft-openai-saga.txt",
    "wire.jsonl",
]


@pytest.fixture(scope="module")
def local_ray():
    mp = pytest.MonkeyPatch()
    mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
    # Loopback only: the tests' network guard refuses any other address.
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="warning",
             log_to_driver=False)
    yield ray
    ray.shutdown()
    mp.undo()


def _stored(components):
    got = components.store.chunks.get(include=["documents", "metadatas", "embeddings"])
    rows = sorted(zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]), key=lambda r: r[0])
    return rows


def test_ingest_on_ray_writes_the_chunks_of_a_single_process_ingest(local_ray, tmp_path, embedder, monkeypatch, capsys):
    from service.cli.main import main
    from service.ingest.distributed import WorkerSpec, ingest_on_ray, start_ray

    folder = tmp_path / "articles"
    folder.mkdir()
    for name in FILES:
        shutil.copy(CORPUS_DIR / name, folder / name)
    (folder / "broken.json").write_text('{"title": "no body"', encoding="utf-8")

    single = Components.build(make_settings(tmp_path / "single"), embedder=embedder)
    loaded = load_paths([folder])
    single.ingester.ingest(loaded.articles)

    # `newsdesk ingest DIR --ray` (the test's Ray is already up, so it is used as it is).
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(tmp_path / "ray"))
    assert main(["ingest", str(folder), "--ray"]) == 1  # one bad file
    out = capsys.readouterr().out
    assert "broken.json" in out and "ray: 2 CPUs on 1 node(s)" in out
    settings = make_settings(tmp_path / "ray")
    on_ray = Components.build(settings, embedder=embedder)

    ours, theirs = _stored(on_ray), _stored(single)
    assert [r[0] for r in ours] == [r[0] for r in theirs]  # chunk ids (article id, index, content hash)
    assert len(ours) > len(loaded.articles)
    for (_, doc, meta, vec), (_, doc1, meta1, vec1) in zip(ours, theirs):
        assert doc == doc1
        assert meta == meta1  # offsets, content and text hashes, citation fields
        assert np.allclose(vec, vec1, atol=1e-4)  # the same model on other workers, other batches
    assert sorted(r["article_id"] for r in on_ray.store.list_articles(limit=100)) == sorted(a.article_id for a in loaded.articles)

    # A second run finds nothing to do, as a single-process re-run would, and says which file is bad.
    again = ingest_on_ray([folder], on_ray.ingester, WorkerSpec.from_settings(settings), ray=start_ray(None))
    assert again.counts() == {"added": 0, "updated": 0, "unchanged": len(loaded.articles), "failed": 1}
    assert again.chunks_written == 0 and "broken.json" in again.failed[0].message
