"""`newsdesk bench query` end to end on a tiny BEIR folder: it indexes, times retrieval,
drives /v1/ask through uvicorn against its fake LLM, and reuses the index on a second run.
(The figures themselves are for people to read; nothing here is timed.)"""

from __future__ import annotations

import json

import pytest

from service.cli import main
from service.errors import NewsdeskError

DOCS = [
    ("d1", "Aspirin and heart attacks", "Daily low-dose aspirin reduced the risk of a first heart attack in men over fifty."),
    ("d2", "Vitamin D and fractures", "Vitamin D supplements did not lower the rate of hip fractures in older women."),
    ("d3", "Coffee and liver disease", "Regular coffee drinkers had lower rates of liver cirrhosis in a cohort of 100,000 adults."),
    ("d4", "Sleep and memory", "Students who slept eight hours recalled more word pairs than those who stayed awake."),
]
QUERIES = ["Aspirin lowers heart attack risk.", "Vitamin D prevents hip fractures.",
           "Coffee protects the liver.", "Sleep improves memory recall."]


@pytest.fixture
def beir_dir(tmp_path):
    folder = tmp_path / "tinyfact"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in DOCS))
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": str(n), "text": q}) + "\n" for n, q in enumerate(QUERIES)))
    return folder


def test_bench_query_prints_its_figures_and_reuses_the_index(beir_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(tmp_path / "index"))
    argv = ["bench", "query", str(beir_dir), "--queries", "4", "--requests", "6", "--concurrency", "2"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "indexing 4 documents into 'bench-tinyfact'" in first
    assert "ratio full / bare" in first and "requests/s" in first and "extractive beyond" in first
    errors = next(line for line in first.splitlines() if "errors (non-200" in line)
    assert errors.split("│")[-2].strip() == "0"
    sent = next(line for line in first.splitlines() if "requests sent" in line)
    assert sent.split("│")[-2].strip() == "6"
    assert (tmp_path / "index" / "bench").is_dir()

    assert main(argv) == 0
    assert "reusing index 'bench-tinyfact' (4 documents)" in capsys.readouterr().out


def test_bench_query_without_a_folder_says_what_to_pass():
    with pytest.raises(NewsdeskError, match="needs a BEIR folder"):
        main(["bench", "query"])
