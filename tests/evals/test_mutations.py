"""The mutation set: each planted flaw must be caught by the eval's own checks, and the
same check must stay quiet on the unmutated answer."""

from __future__ import annotations

import pytest

from service.errors import EvalError
from service.evals.cases import load_cases, load_corpus
from service.evals.commands import DEFAULT_CASES, DEFAULT_MUTATIONS
from service.evals.mutations import FLAWS, load_mutations, run_mutations
from service.evals.runner import run_mode
from tests.conftest import CORPUS_DIR


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS_DIR)


def test_the_committed_set_plants_every_kind_of_flaw(corpus):
    cases = load_cases(DEFAULT_CASES, corpus)
    mutations = load_mutations(DEFAULT_MUTATIONS, {c.id for c in cases})
    assert {m.flaw for m in mutations} == set(FLAWS)


def test_planted_flaws_are_caught_and_clean_answers_are_not_flagged(sample_index, corpus, tmp_path):
    cases = load_cases(DEFAULT_CASES, corpus)
    mutations = load_mutations(DEFAULT_MUTATIONS, {c.id for c in cases})
    # One mutation of each flaw, to keep the test short; `newsdesk eval` runs them all.
    picked = list({m.flaw: m for m in mutations}.values())
    wanted = {m.case for m in picked}
    runs = run_mode(sample_index, [c for c in cases if c.id in wanted], "llm", corpus=corpus, cassettes=tmp_path)
    results = run_mutations(runs, picked, corpus)
    assert [r.mutation.flaw for r in results if not r.caught] == []
    assert [r.mutation.flaw for r in results if r.control_flagged] == []


def test_a_mutation_of_an_unknown_case_or_flaw_is_rejected(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "x", "case": "c1", "flaw": "typo"}\n')
    with pytest.raises(EvalError, match="unknown flaw 'typo'"):
        load_mutations(path, {"c1"})
    path.write_text('{"id": "x", "case": "nope", "flaw": "uncited_claim", "text": "Claim."}\n')
    with pytest.raises(EvalError, match="no case 'nope'"):
        load_mutations(path, {"c1"})
