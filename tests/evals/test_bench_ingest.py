"""`newsdesk bench ingest` end to end on a tiny BEIR folder: its table names both floors, a
row for each way a collection makes its vectors, and the tokens each system had the model read (the figures are for people to read; nothing here
is timed)."""

from __future__ import annotations

import json

from service.cli import main
from service.evals.bench_ingest import one_pass, timed


def test_bench_ingest_prints_both_ratios_and_the_tokens_read(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "tinyfact"
    folder.mkdir()
    docs = [("d1", "Aspirin and heart attacks", "Daily low-dose aspirin reduced the risk of a first heart attack."),
            ("d2", "Coffee and liver disease", "Regular coffee drinkers had lower rates of liver cirrhosis. " * 40)]
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs))
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["bench", "ingest", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.count("ratio to the mean one pass (target <= 1.15)") == 3  # one per way of making vectors

    def tokens(label: str) -> int:
        line = next(line for line in out.splitlines() if label in line)
        return int(line.split("│")[-2].split("/")[-1].replace(",", ""))
    floor = tokens("tokens read by the model: one pass")
    # pooled: each token read once, as the floor reads it; apart: the sentences again; the
    # default: each distinct sentence once (d2 repeats one sentence forty times)
    assert tokens("sentences pooled from the chunk's pass") == floor > 0
    assert tokens("chunks and sentences embedded apart") > floor
    assert 0 < tokens("sentences embedded once, the chunk's vector their mean (the default)") < floor
    assert out.count("ratio to stock LlamaIndex (target <= 1.3)") == 3 or "stock LlamaIndex row skipped" in out


def test_timed_counts_the_tokens_the_model_read(embedder):
    result = timed(embedder, one_pass(embedder, [["one two three"], ["four"]]))
    assert result.tokens == (3 + 2) + (1 + 2) and result.seconds > 0
    assert timed(object(), lambda: None).tokens_text == "n/a"
