"""`newsdesk bench compare`: newsdesk and stock LlamaIndex over the same articles, one run."""

from __future__ import annotations

from service.cli import build_parser
from service.evals.bench_compare import cmd_bench_compare, evidence_recall
from service.evals.commands import DEFAULT_CASES


def test_evidence_recall_counts_collapsed_copies_and_cuts_at_k():
    retrieved = [[["a", "a-reprint"], "b"], ["c"]]
    assert evidence_recall(retrieved, [["a-reprint", "x"], ["c"]]) == (0.5 + 1.0) / 2
    assert evidence_recall([r[:1] for r in [["b", "a"]]], [["a"]]) == 0.0


def test_compare_prints_both_sides(sample_index, capsys):
    args = build_parser().parse_args(["bench", "compare", "--corpus", str(sample_index.settings.sample_corpus_dir),
                                      "--cases", str(DEFAULT_CASES), "--collection", sample_index.collection])
    assert cmd_bench_compare(args, sample_index.settings) == 0
    out = capsys.readouterr().out
    assert "evidence recall at 1 / 3 / 8 sources" in out
    assert "newsdesk" in out and out.count("LlamaIndex hybrid") == 2


def test_the_news_set_loads_and_every_fact_is_in_its_evidence():
    from service.evals.bench_compare import NEWS_SET
    from service.evals.cases import load_cases, load_corpus

    corpus = load_corpus(NEWS_SET / "corpus")
    cases = load_cases(NEWS_SET / "cases.jsonl", corpus)
    texts = {a.article_id: a.text.lower() for a in corpus.articles}
    assert len(corpus.articles) == 165 and len(cases) == 97
    assert sum(len(c.expected_sources) > 1 for c in cases) >= 25  # multi-source questions
    for case in cases:
        evidence = " ".join(texts[s] for s in case.expected_sources)
        assert all(any(alt.lower() in evidence for alt in group) for group in case.expected_facts), case.id
