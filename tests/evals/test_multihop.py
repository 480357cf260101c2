"""`newsdesk eval multihop DIR` on a folder in MultiHop-RAG's layout: figures per question
type with intervals, and the baseline gate."""

import json

from service.evals.gate_data import Item
from service.evals.multihop import Asked, by_type, figures, names_match
from service.evals.multihop_command import cmd_multihop


def asked(kind, gold, *, refused=False, with_llm=False, sources=("a",), cited=("a",), short=None, gold_articles=("a",)):
    item = Item(f"{kind}-{gold}", "q?", 0 if kind == "null_query" else 1, gold_articles=frozenset(gold_articles),
                kind=kind)
    return Asked(item, gold, refused, with_llm, tuple(sources), frozenset(cited), short, f"{short or ''} answer")


def test_figures_count_what_a_reader_would():
    rows = [asked("inference_query", "Google", short="Google"),
            asked("inference_query", "OpenAI", short=None, refused=True),
            asked("comparison_query", "Yes", short="Yes", cited=("a", "b")),
            asked("comparison_query", "No", short="Yes"),
            asked("temporal_query", "No", short=None, sources=("x",)),
            asked("null_query", "Insufficient information.", refused=True, with_llm=False, gold_articles=())]
    f = figures(rows)
    assert (f["false_refusal.extractive"].k, f["false_refusal.extractive"].n) == (1, 5)
    assert (f["null_refusal.extractive"].k, f["null_refusal.llm_gate"].k) == (1, 0)
    assert f["short.entity"].k == 1 and f["short.entity"].n == 2
    assert (f["short.yes"].k, f["short.yes"].n, f["short.no"].k, f["short.no"].n) == (1, 1, 0, 2)
    assert f["short.wrong_yes_no"].k == 1  # "Yes" to a no-question is a wrong answer, not a missing one
    assert f["evidence_recall@8"]["value"] == 0.8  # the temporal question's evidence was not among its sources
    assert f["cited_evidence_precision"]["value"] == (1 + 0.5 + 1 + 1) / 4  # "b" is not evidence; refusals cite none
    assert set(by_type(rows)) == {"all", "comparison_query", "inference_query", "temporal_query", "null_query"}
    assert names_match("Sam Bankman-Fried", "Bankman-Fried") and not names_match("Google", None)


CORPUS = [
    {"id": "mh-1", "url": "https://verge.example/a", "title": "Apple defends Google Search deal in court",
     "source": "The Verge", "author": "A", "published_at": "2023-09-26T17:01:22+00:00",
     "text": "Apple defends Google Search deal in court\n\nEddy Cue said there was no valid alternative to Google "
             "when Apple made it the default search engine on the iPhone in 2002."},
    {"id": "mh-2", "url": "https://techcrunch.example/b", "title": "Epic takes Google to court over the Play Store",
     "source": "TechCrunch", "author": "B", "published_at": "2023-11-06T16:47:11+00:00",
     "text": "Epic takes Google to court over the Play Store\n\nEpic Games argues that Google restrains competition in "
             "the distribution of Android apps and in payment processing for those apps."},
]
QUERIES = [
    {"id": "0", "question": "Which company did Apple make its default search engine, according to The Verge?",
     "question_type": "inference_query"},
    {"id": "2", "question": "Did The Verge report on Apple's search deal before TechCrunch reported on Epic's case?",
     "question_type": "temporal_query"},
    {"id": "4", "question": "Considering a Bloomberg article on the mayor's budget and a Reuters report on the "
                            "city's bonds, which single letter names the bond rating?", "question_type": "null_query"},
]
TRUTH = {
    "0": {"answer": "Google", "evidence_list": [{"url": "https://verge.example/a", "fact": "Eddy Cue said ..."}]},
    "2": {"answer": "Yes", "evidence_list": [{"url": "https://verge.example/a", "fact": ""},
                                            {"url": "https://techcrunch.example/b", "fact": ""}]},
    "4": {"answer": "Insufficient information.", "evidence_list": []},
}


def test_the_command_runs_a_folder_and_gates_on_its_baseline(tmp_path, settings, capsys):
    folder = tmp_path / "mh"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in CORPUS) + "\n", encoding="utf-8")
    (folder / "queries.json").write_text(json.dumps({"queries": QUERIES}), encoding="utf-8")
    (folder / "ground_truth.json").write_text(json.dumps(TRUTH), encoding="utf-8")

    class Args:
        dir, collection, limit, json = str(folder), "mh-test", None, str(tmp_path / "out.json")
        baseline, update_baseline = str(tmp_path / "baseline.json"), True

    assert cmd_multihop(Args, settings) == 0
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert out["info"]["questions"] == 3
    assert out["figures"]["null_query"]["null_refusal.extractive"]["k"] == 1  # no outlet it names is in the archive
    assert out["figures"]["all"]["evidence_recall@8"]["value"] == 1.0
    baseline = json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))["metrics"]
    assert baseline["multihop.false_refusal.extractive"]["direction"] == "lower"
    # Worse than its baseline beyond the tolerance: the run fails.
    baseline["multihop.null_refusal.extractive"]["value"] = 2.0
    (tmp_path / "baseline.json").write_text(json.dumps({"metrics": baseline}), encoding="utf-8")
    Args.update_baseline = False
    assert cmd_multihop(Args, settings) == 1
    assert "FAIL" in capsys.readouterr().out


def test_a_folder_may_keep_its_corpus_as_json_lines_files_in_corpus(tmp_path):
    from service.evals.gate_data import load_multihop

    folder = tmp_path / "mh"
    (folder / "corpus").mkdir(parents=True)
    for i, record in enumerate(CORPUS):
        (folder / "corpus" / f"part{i}.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    (folder / "queries.json").write_text(json.dumps({"queries": QUERIES}), encoding="utf-8")
    (folder / "ground_truth.json").write_text(json.dumps(TRUTH), encoding="utf-8")
    articles, items = load_multihop(folder)
    assert len(articles) == len(CORPUS) and len(items) == len(QUERIES)
    assert items[1].gold_articles == {a.article_id for a in articles}


def test_the_committed_held_out_news_sets_load():
    from service.config import DEFAULT_EVALS_DIR
    from service.evals.gate_data import load_multihop

    for name, articles_n, questions_n in (("heldout-news", 165, 60), ("heldout-news-2", 36, 50),
                                                  ("heldout-news-3", 36, 50)):
        articles, items = load_multihop(DEFAULT_EVALS_DIR / name)
        assert (len(articles), len(items)) == (articles_n, questions_n)
        assert all(item.gold_articles for item in items if item.label)  # every evidence url is in the corpus
