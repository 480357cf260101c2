"""`newsdesk bench scale` and `newsdesk bench lexical` run end to end at tiny sizes and print
their tables (the figures are for people to read; nothing here is timed)."""

from __future__ import annotations

import json

import numpy as np

from service.cli import main
from service.evals.bench_scale import SyntheticEmbedder, synthetic_articles


def test_synthetic_embedder_is_deterministic_and_puts_shared_words_close():
    first, second = SyntheticEmbedder(), SyntheticEmbedder()
    texts = ["harbour quay expansion approved", "the quay expansion at the harbour", "football results tonight"]
    a, b = first.embed(texts), second.embed(texts)
    assert np.array_equal(a, b) and a.shape == (3, 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert a[0] @ a[1] > a[0] @ a[2] + 0.3


def test_synthetic_corpus_has_the_size_asked_for():
    articles = synthetic_articles(300)
    assert len(articles) == 100 and len({a.article_id for a in articles}) == 100
    assert articles[0].text == synthetic_articles(300)[0].text  # seeded


def test_bench_scale_prints_a_row_per_size(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert main(["bench", "scale", "--chunks", "150", "--rounds", "2", "--queries", "3"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "two replica processes" in out and "write→visible" in out
    assert "(copied!)" not in out  # the restarted replica opened its index from disk
    assert "B's anonymous memory after 3 retrievals" in out


def test_bench_lexical_compares_both_engines(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "tinyfact"
    (folder / "qrels").mkdir(parents=True)
    docs = [("d1", "Aspirin and heart attacks", "Daily low-dose aspirin reduced the risk of a first heart attack."),
            ("d2", "Vitamin D and fractures", "Vitamin D supplements did not lower the rate of hip fractures."),
            ("d3", "Coffee and liver disease", "Regular coffee drinkers had lower rates of liver cirrhosis.")]
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": t}) + "\n"
                                                  for i, (_, t, _) in enumerate(docs)))
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"q{i}\t{d}\t1\n" for i, (d, _, _) in enumerate(docs)))
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("COLUMNS", "250")  # rich would otherwise shorten the engine names
    assert main(["bench", "lexical", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "tantivy" in out and "sqlite" in out and "fts5" in out
    assert "1.000" in out  # each title query finds its own document first, on both engines
