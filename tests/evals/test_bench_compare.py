"""`newsdesk bench compare`: newsdesk and stock LlamaIndex over the same articles, one run."""

from __future__ import annotations

from service.cli import build_parser
from service.evals.bench_compare import cmd_bench_compare, evidence_recall


def test_evidence_recall_counts_collapsed_copies_and_cuts_at_k():
    retrieved = [[["a", "a-reprint"], "b"], ["c"]]
    assert evidence_recall(retrieved, [["a-reprint", "x"], ["c"]]) == (0.5 + 1.0) / 2
    assert evidence_recall([r[:1] for r in [["b", "a"]]], [["a"]]) == 0.0


def test_compare_prints_both_sides(sample_index, capsys):
    args = build_parser().parse_args(["bench", "compare", "--collection", sample_index.collection])
    assert cmd_bench_compare(args, sample_index.settings) == 0
    out = capsys.readouterr().out
    assert "evidence recall at 1 / 3 / 8 sources" in out
    assert "newsdesk" in out and out.count("LlamaIndex hybrid") == 2
