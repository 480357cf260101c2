"""The eval suite: case loading, scoring rules, baseline comparison, calibration, the BEIR
runner, and a small end-to-end `newsdesk eval` over the sample index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from service.answer.retrieval import HybridRetriever
from service.cli import build_parser
from service.errors import EvalError
from service.evals import baseline as baselines
from service.evals import calibration
from service.evals.beir import document_rankings, retrieve_rankings, score_rankings
from service.evals.cases import ADVERSARIAL_KINDS, load_cases, load_corpus
from service.evals.commands import DEFAULT_CASES, cmd_beir, cmd_eval
from service.evals.metrics import document_ranking
from service.ingest.loading import normalise_whitespace, text_article_id
from tests.conftest import CORPUS_DIR


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS_DIR)


def write_cases(path: Path, *records: dict) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def case(**fields) -> dict:
    return {"id": "c1", "question": "What happened?", "filters": None, "expected_sources": [], "expected_facts": [],
            "must_refuse": False, "must_mention_conflict": False, "tags": [], "scripted": None,
            "adversarial": None} | fields


# -- cases ---------------------------------------------------------------------------------------

def test_placeholders_resolve_against_the_corpus_files(corpus, tmp_path):
    founding = text_article_id(normalise_whitespace((CORPUS_DIR / "microsoft-openai-saga.txt").read_text(encoding="utf-8")))
    path = write_cases(tmp_path / "cases.jsonl", case(
        expected_sources=["FOUNDING", "TXT:deepseek-selloff-nvidia.txt"],
        filters={"article_ids": ["FOUNDING"]},
        scripted="It is called MAI [@FOUNDING], not M1 [@TXT:deepseek-selloff-nvidia.txt].",
    ))
    [loaded] = load_cases(path, corpus)
    deepseek = corpus.by_file()["deepseek-selloff-nvidia.txt"]
    assert loaded.expected_sources == (founding, deepseek)
    assert loaded.filters.article_ids == (founding,)
    assert loaded.scripted == f"It is called MAI [@{founding}], not M1 [@{deepseek}]."


@pytest.mark.parametrize("fields, message", [
    ({"expected_sources": ["no-such-article"]}, "not in the corpus: no-such-article"),
    ({"adversarial": "sneaky"}, "unknown adversarial kind 'sneaky'"),
    ({"expected_facts": ["not a list"]}, "expected_facts"),
    ({"filters": {"published_after": "yesterday-ish"}}, "bad filters"),
    ({"expected_sources": ["TXT:missing.txt"]}, "no single-article file 'missing.txt'"),
])
def test_bad_cases_are_rejected_with_their_line(corpus, tmp_path, fields, message):
    path = write_cases(tmp_path / "cases.jsonl", case(id="fine"), case(**fields))
    with pytest.raises(EvalError, match=message) as info:
        load_cases(path, corpus)
    assert f"{path}:2:" in info.value.message


def test_duplicate_case_ids_are_rejected(corpus, tmp_path):
    with pytest.raises(EvalError, match="duplicate case id 'c1'"):
        load_cases(write_cases(tmp_path / "cases.jsonl", case(), case()), corpus)


def test_the_committed_cases_load(corpus):
    cases = load_cases(DEFAULT_CASES, corpus)
    assert len(cases) >= 40
    assert {c.adversarial for c in cases} >= set(ADVERSARIAL_KINDS)
    assert any(c.must_refuse for c in cases) and any(c.must_mention_conflict for c in cases)
    assert all(c.scripted for c in cases), "every committed case replays without a live model"


def test_the_corpus_readme_is_not_an_article(tmp_path, corpus):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "README.md").write_text("# About these articles\n\nNot news.\n", encoding="utf-8")
    (folder / "one.md").write_text("---\nid: one\ntitle: One\n---\nSome real news text here.\n", encoding="utf-8")
    assert [a.article_id for a in load_corpus(folder).articles] == ["one"]


# -- baseline comparison ----------------------------------------------------------------------

def test_compare_respects_tolerance_and_direction():
    baseline = {
        "a": {"value": 0.90, "tolerance": 0.02, "direction": "higher"},
        "b": {"value": 0.90, "tolerance": 0.02},
        "c": {"value": 100.0, "tolerance": 10, "direction": "lower"},
        "d": {"value": 1.0, "tolerance": 0.0},
        "gone": {"value": 0.5},
    }
    rows = {r.metric: r for r in baselines.compare({"a": 0.88, "b": 0.87, "c": 111.0, "d": 1.0, "new": 0.3}, baseline)}
    assert rows["a"].status == "ok"  # exactly at the tolerance still passes
    assert rows["b"].status == "FAIL"
    assert rows["c"].status == "FAIL"
    assert rows["d"].status == "ok"
    assert rows["new"].status == "new" and rows["gone"].status == "not run"
    assert baselines.compare({"a": 0.95}, baseline)[0].status == "improved"


def test_updated_baseline_keeps_tolerances(tmp_path):
    old = {"x.recall": {"value": 0.5, "tolerance": 0.1, "direction": "higher"}}
    data = baselines.updated_baseline({"x.recall": 0.61234, "x.citations.quote_exactness": 1.0}, old, {"cases": 3})
    assert data["metrics"]["x.recall"] == {"value": 0.6123, "tolerance": 0.1, "direction": "higher"}
    assert data["metrics"]["x.citations.quote_exactness"]["tolerance"] == 0.0
    path = tmp_path / "baseline.json"
    baselines.write_baseline(path, data)
    assert baselines.load_baseline(path) == data["metrics"]


def test_a_malformed_baseline_is_an_eval_error(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text('{"metrics": {"m": {"tolerance": 1}}}', encoding="utf-8")
    with pytest.raises(EvalError, match="needs a `value`"):
        baselines.load_baseline(path)


# -- calibration ---------------------------------------------------------------------------------

def test_calibration_picks_the_best_f1_that_keeps_enough_answerable_questions():
    samples = [
        calibration.Sample("a", True, [0.35, 0.5, 0.6, 0.7, 0.8] * 20),  # 100 answerable
        calibration.Sample("u", False, [0.1, 0.2, 0.3, 0.4] * 5),  # 20 unanswerable
    ]
    chosen = calibration.choose_threshold(samples, keep=0.98)
    # Above 0.35 a fifth of the answerable ones would be refused; 0.31-0.35 refuse the
    # same unanswerable ones (0.1, 0.2, 0.3), so the lowest of those wins.
    assert chosen.threshold == pytest.approx(0.31)
    assert chosen.keep == 1.0
    assert chosen.refusal_recall == pytest.approx(0.75) and chosen.refusal_precision == 1.0
    strict = calibration.choose_threshold(samples, keep=0.5)
    assert strict.refusal_f1 >= chosen.refusal_f1


# -- BEIR ----------------------------------------------------------------------------------------

def make_beir(folder: Path) -> Path:
    docs = [
        ("d1", "Vitamin D and bones", "Vitamin D supplements increase bone mineral density in older adults."),
        ("d2", "Coffee and sleep", "Caffeine taken late in the evening delays sleep onset and shortens deep sleep."),
        ("d3", "Exercise and mood", "Regular aerobic exercise reduces symptoms of depression in adults."),
        ("d4", "Salt and blood pressure", "Lower sodium intake reduces blood pressure in people with hypertension."),
    ]
    folder.mkdir()
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in docs) + "\n", encoding="utf-8")
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in [
        {"_id": "q1", "text": "Does caffeine affect sleep?"},
        {"_id": "q2", "text": "Sodium and hypertension"},
        {"_id": "q3", "text": "not judged"},
    ]) + "\n", encoding="utf-8")
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td4\t1\n", encoding="utf-8")
    return folder


def test_beir_command_indexes_once_and_scores_every_mode(tmp_path, settings, capsys):
    folder = make_beir(tmp_path / "tiny")
    args = build_parser().parse_args(["eval", "beir", str(folder), "--json", str(tmp_path / "out.json")])
    from rich.console import Console

    console = Console(width=200, record=True)
    assert cmd_beir(args, settings, console=console) == 0
    assert cmd_beir(args, settings, console=console) == 0
    text = console.export_text()
    assert "indexing 4 documents into 'beir-tiny'" in text and "reusing collection 'beir-tiny'" in text
    scores = json.loads((tmp_path / "out.json").read_text())["scores"]
    assert scores["hybrid"]["ndcg@10"] == pytest.approx(1.0)
    assert set(scores) == {"dense", "lexical", "hybrid"}
    assert json.loads((tmp_path / "out.json").read_text())["queries"] == 2

    gated = build_parser().parse_args(["eval", "beir", str(folder), "--gate"])
    assert cmd_beir(gated, settings, console=console) == 0
    gate_text = console.export_text()
    assert "answerability gate, all: refused" in gate_text and "of 2 queries that have relevant" in gate_text


def test_beir_hybrid_is_the_retrievers_own_fusion(sample_index):
    retriever = sample_index.retriever
    question = "How much market value did Nvidia lose in the DeepSeek sell-off?"
    rankings = retrieve_rankings(retriever, {"q": question}, depth=retriever.candidates)
    ours = document_rankings(rankings["q"])["hybrid"]
    found = retriever.search(question, mode="hybrid")
    fused, chunks = found.fused, found.chunks
    assert ours == document_ranking((c, chunks[c].metadata["article_id"]) for c, _ in fused)
    # given a fusion of two rankings (`bench lexical`), the retriever's candidates are cut as it cuts them
    rrf = HybridRetriever(retriever.store, retriever.embedder, retriever.lexical, fusion="rrf")
    found = rrf.search(question, mode="hybrid")
    fused, chunks = found.fused, found.chunks
    assert document_rankings(rankings["q"], fuse=rrf.fuse, candidates=rrf.candidates)["hybrid"] == \
        document_ranking((c, chunks[c].metadata["article_id"]) for c, _ in fused)
    scores = score_rankings({"q": {"dense": ours, "lexical": ours, "hybrid": ours}}, {"q": {ours[0]: 1}})
    assert scores["hybrid"]["mrr@10"] == 1.0


# -- end to end ---------------------------------------------------------------------------------

HANDFUL = ["mai1-parameters", "claude-price", "recipe-sourdough", "xai-valuation",
           "adv-tmi-uncited", "adv-stargate-hallucinated", "adv-claude-fabricated-quote", "adv-mistral-obeys-injection"]
SECRET = "sk-never-in-a-report-7f3a"


def run_eval(sample_index, tmp_path, *extra: str) -> tuple[int, str]:
    from rich.console import Console

    argv = ["eval", "--cassettes", str(tmp_path / "cassettes"), *extra]
    console = Console(width=250, record=True)
    settings = sample_index.settings.model_copy(update={"llm_api_key": SecretStr(SECRET)})
    code = cmd_eval(build_parser().parse_args(argv), settings, components=sample_index, console=console)
    return code, console.export_text()


def test_eval_end_to_end_reports_and_fails_on_a_doctored_baseline(sample_index, tmp_path):
    baseline = tmp_path / "baseline.json"
    only = [arg for cid in HANDFUL for arg in ("--only", cid)]
    code, out = run_eval(sample_index, tmp_path, *only, "--baseline", str(baseline), "--update-baseline",
                         "--report-dir", str(tmp_path / "r1"))
    assert code == 0, out
    assert "adversarial: caught 4 of 4" in out

    report = json.loads((tmp_path / "r1" / "report.json").read_text())
    metrics = report["metrics"]
    assert metrics["llm.adversarial.caught"] == 1.0
    assert metrics["extractive.citations.quote_exactness"] == metrics["llm.citations.quote_exactness"] == 1.0
    assert metrics["retrieval.hit@5"] == 1.0
    assert {c["mode"] for c in report["cases"]} == {"extractive", "llm"}
    scripted = [c for c in report["cases"] if c["mode"] == "llm" and c["answerable"]]
    assert scripted and all(c["served"] == "scripted" for c in scripted)
    markdown = (tmp_path / "r1" / "report.md").read_text()
    assert "| retrieval.ndcg@10 |" in markdown and "Adversarial: caught 4 of 4" in markdown
    assert "<svg" in (tmp_path / "r1" / "report.html").read_text()

    # Push one metric's baseline beyond its tolerance: the run must fail and say which.
    data = json.loads(baseline.read_text())
    data["metrics"]["llm.citations.recall"]["value"] = 1.5
    baseline.write_text(json.dumps(data))
    code, out = run_eval(sample_index, tmp_path, *only, "--baseline", str(baseline), "--mode", "llm",
                         "--report-dir", str(tmp_path / "r2"))
    assert code == 1
    rows = {r["metric"]: r for r in json.loads((tmp_path / "r2" / "report.json").read_text())["comparison"]}
    assert rows["llm.citations.recall"]["status"] == "FAIL"
    assert rows["extractive.citations.recall"]["status"] == "not run"
    assert "FAIL" in (tmp_path / "r2" / "report.md").read_text()

    for path in [baseline, *(tmp_path / "r1").iterdir(), *(tmp_path / "r2").iterdir()]:
        assert SECRET not in path.read_text(), path


def test_a_failed_case_shows_what_was_expected_and_answered(sample_index, tmp_path):
    code, _ = run_eval(sample_index, tmp_path, "--only", "nyt-lawsuit-outcome", "--mode", "extractive",
                       "--baseline", str(tmp_path / "none.json"), "--report-dir", str(tmp_path / "r"))
    [row] = json.loads((tmp_path / "r" / "report.json").read_text())["cases"]
    markdown = (tmp_path / "r" / "report.md").read_text()
    # An open "how was it resolved" question over articles that name both parties: the gate lets it through.
    assert row["failures"] == ["answered a question it should refuse"]
    assert "How was The New York Times lawsuit" in markdown and row["answer"][:40].replace("|", "\\|") in markdown
    assert "(none: refuse)" in markdown
    assert code == 0  # an empty baseline has nothing to fall below


def test_a_case_with_no_cassette_and_no_script_fails_clearly(sample_index, tmp_path):
    path = write_cases(tmp_path / "cases.jsonl", case(
        id="unrecorded", question="How many parameters does Microsoft's MAI-1 model have?",
        expected_sources=["northgate-2024-05-06-microsoft-mai-1-training"]))
    code, out = run_eval(sample_index, tmp_path, "--cases", str(path), "--mode", "llm",
                         "--report-dir", str(tmp_path / "r"))
    assert code == 1
    assert "re-record: the prompt or the retrieval changed" in out
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert not report["passed"] and "case 'unrecorded'" in report["errors"][0]
    assert "no baseline comparison" in out


def test_record_then_replay_the_recording(sample_index, tmp_path):
    import httpx
    import respx

    from service.evals.cassettes import completion_body

    live_answer = "MAI-1 will have roughly 500 billion parameters [1]."
    with respx.mock(base_url="http://live.test/v1") as live:
        route = live.post("/chat/completions").mock(
            return_value=httpx.Response(200, json=completion_body(live_answer, "live-model", "x")))
        code, out = run_eval(sample_index, tmp_path, "--record", "--base-url", "http://live.test/v1", "--model",
                             "live-model", "--mode", "llm", "--only", "mai1-parameters", "--report-dir", str(tmp_path / "r1"))
    assert code == 0, out
    assert route.call_count == 1 and route.calls.last.request.headers["authorization"] == f"Bearer {SECRET}"
    [cassette] = (tmp_path / "cassettes").glob("*.json")
    assert SECRET not in cassette.read_text() and json.loads(cassette.read_text())["case_id"] == "mai1-parameters"
    assert json.loads(cassette.read_text())["provenance"] == {"kind": "recorded", "model": "live-model",
                                                               "by": "newsdesk eval record"}
    [row] = json.loads((tmp_path / "r1" / "report.json").read_text())["cases"]
    assert row["served"] == "live" and row["answer"] == live_answer

    # Offline, the recording wins over the case's scripted answer.
    code, _ = run_eval(sample_index, tmp_path, "--model", "live-model", "--mode", "llm", "--only", "mai1-parameters",
                       "--report-dir", str(tmp_path / "r2"))
    [row] = json.loads((tmp_path / "r2" / "report.json").read_text())["cases"]
    assert row["served"] == "cassette" and row["answer"] == live_answer
    assert code == 0
