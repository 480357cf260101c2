"""The answerability gate's training data (evals/gate/datasets.yaml): each dataset's questions
asked of its own corpus through the real retriever and assessment, with their labels.

    datasets.yaml -> load_items (questions, labels, gold articles and texts)
                  -> examples (retrieve, assess: the same features the gate reads when serving)
                  -> service.evals.gate_training (cross-validation, thresholds, the model file)

Synthetic negatives are made the way SQuAD 2.0's were, by perturbing answerable questions: a
named thing or an outlet swapped for one the corpus lacks, or the counted thing for another.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from service.answer.analysis import analyse
from service.answer.assessment import assess
from service.errors import EvalError
from service.models import Article, Filters

DATASETS_FILE = Path("evals/gate/datasets.yaml")


@dataclass(frozen=True)
class Item:
    """One question of a dataset: answerable or not, and where its answer is."""

    id: str
    question: str
    label: int  # 1: the corpus answers it
    filters: Filters = Filters()
    gold_articles: frozenset[str] = frozenset()
    gold_texts: tuple[str, ...] = ()  # facts or answer texts a sentence that answers holds
    kind: str = ""  # the dataset's own type of question (multihop: comparison, inference, ...)


@dataclass
class Dataset:
    name: str
    articles: list[Article]
    items: list[Item]
    synthetic: bool = True  # make perturbed negatives of its answerable questions
    collection: str | None = None  # an existing collection holding `articles` (BEIR's)


@dataclass
class Example:
    """What the gate's training reads of one question."""

    dataset: str
    id: str
    group: str  # a question and its perturbed copy share one: they stay in one fold
    question: str
    label: int
    weight: float
    kind: str
    features: dict[str, float]
    sentences: list[dict[str, float]] = field(default_factory=list)
    sentence_labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # article ids of the sources, in order
    gold_articles: list[str] = field(default_factory=list)


def _fold(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def holds(sentence: str, gold: Iterable[str]) -> bool:
    """Does a sentence hold one of the gold texts (an answer inside it, or a fact it is part of)?"""
    s = _fold(sentence)
    return any(g and (g in s or (len(s) > 20 and s in g)) for g in map(_fold, gold))


# -- datasets -------------------------------------------------------------------------------------

def load_multihop(folder: Path) -> tuple[list[Article], list[Item]]:
    from service.ingest.loading import load_file

    queries = json.loads((folder / "queries.json").read_text(encoding="utf-8"))["queries"]
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    # The corpus: corpus.jsonl, or every JSON Lines file in corpus/ (evals/heldout-news
    # points there at the news set's articles rather than holding a second copy).
    files = [folder / "corpus.jsonl"] if (folder / "corpus.jsonl").is_file() else sorted((folder / "corpus").glob("*.jsonl"))
    if not files:
        raise EvalError(f"{folder}: neither corpus.jsonl nor corpus/*.jsonl")
    articles = []
    for path in files:
        loaded, problems = load_file(path)
        if problems:
            raise EvalError(f"{path}: {problems[0].message}")
        articles.extend(loaded)
    by_url = {a.url: a.article_id for a in articles}
    items = []
    for q in queries:
        evidence = truth[q["id"]]["evidence_list"]
        items.append(Item(q["id"], q["question"], int(q["question_type"] != "null_query"), Filters(),
                          frozenset(by_url[e["url"]] for e in evidence if e["url"] in by_url),
                          tuple(e["fact"] for e in evidence), q["question_type"]))
    return articles, items


def load_cases_dataset(cases: Path, corpus: Path) -> tuple[list[Article], list[Item]]:
    from service.evals.cases import load_cases, load_corpus

    loaded = load_corpus(corpus)
    items = [Item(c.id, c.question, int(not c.must_refuse), c.filters, frozenset(c.expected_sources),
                  tuple(alt for fact in c.expected_facts for alt in fact), ",".join(c.tags))
             for c in load_cases(cases, loaded)]
    return loaded.articles, items


def load_squad(path: Path) -> tuple[list[Article], list[Item]]:
    """SQuAD 2.0 paragraphs as articles (titled by their Wikipedia article), their questions."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids: dict[str, str] = {}
    articles = []
    for r in records:
        if r["context"] not in ids:
            ids[r["context"]] = f"squad-{len(ids)}"
            title = r["title"].replace("_", " ")
            articles.append(Article(ids[r["context"]], title, f"{title}\n\n{r['context']}", outlet="Wikipedia"))
    items = [Item(r["id"], r["question"], int(not r["is_impossible"]), Filters(), frozenset({ids[r["context"]]}),
                  tuple(r["answers"]), "squad") for r in records]
    return articles, items


def load_beir_half(folder: Path, split: str, parity: str) -> tuple[list[Article], list[Item]]:
    from service.evals.beir import load_dataset

    data = load_dataset(folder, split)
    keep = 0 if parity == "even" else 1
    items = [Item(qid, text, 1, Filters(), frozenset(data.qrels.get(qid, {})), (), "claim")
             for qid, text in data.queries.items() if qid.isdigit() and int(qid) % 2 == keep]
    return data.articles, items


def load_datasets(spec_path: Path, root: Path, shared: Path, *, only: Sequence[str] = (),
                  warn: Callable[[str], None] = print) -> tuple[list[Dataset], dict[str, Any]]:
    """The datasets the spec lists, those whose files exist (the others are named in `warn`)."""
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    out = []
    for entry in spec["datasets"]:
        if only and entry["name"] not in only:
            continue
        folder = shared / entry["shared"] if "shared" in entry else None
        if folder is not None and not folder.is_dir():
            warn(f"skipped {entry['name']}: {folder} is missing")
            continue
        kind = entry["kind"]
        if kind == "multihop":
            assert folder is not None
            articles, items = load_multihop(folder)
        elif kind == "cases":
            articles, items = load_cases_dataset(root / entry["cases"], root / entry["corpus"])
        elif kind == "squad":
            articles, items = load_squad(root / entry["path"])
        elif kind == "beir":
            assert folder is not None
            articles, items = load_beir_half(folder, entry.get("split", "train"), entry.get("ids", "even"))
        else:
            raise EvalError(f"{spec_path}: unknown dataset kind {kind!r}")
        out.append(Dataset(entry["name"], articles, items, bool(entry.get("synthetic", True)),
                           f"beir-{folder.name}" if kind == "beir" and folder is not None else None))
    return out, spec.get("synthetic", {})


# -- synthetic negatives --------------------------------------------------------------------------

_INVENTED_NAMES = ("Quorvane", "Veltrix", "Halbrook Dynamics", "Mirelle Okonjo", "Tarvos", "Zendrel Capital",
                   "Ostrava Labs", "Kelvara", "Brennick Holt", "Lumeris", "Corvanta", "Idris Varga", "Petronel",
                   "Sablewood", "Nyx Orbital", "Aurelio Banca", "Thessaly Motors", "Fenwright", "Calloway Reyes",
                   "Marisol Dunne", "Draxon", "Helvig AG")
_ABSENT_OUTLETS = ("Bloomberg", "Reuters", "The Wall Street Journal", "Forbes", "The Times of India", "CNET",
                   "Axios", "Le Monde")
_COUNTED = ("patents", "subscribers", "lawsuits", "stores", "satellites", "factories", "languages", "vessels")


def perturb(question: str, rng: random.Random, corpus_text: str, outlets: Iterable[str]) -> str | None:
    """The question made unanswerable by one swap, or None when nothing can be swapped."""
    def entity() -> str | None:
        names = [e for e in analyse(question).entities if re.search(re.escape(e), question, re.I)]
        if not names:
            return None
        fake = rng.choice([n for n in _INVENTED_NAMES if n.lower() not in corpus_text])
        return re.sub(re.escape(rng.choice(names)), fake, question, count=1, flags=re.I)

    def outlet() -> str | None:
        present = [o for o in outlets if o.lower() in question.lower()]
        if not present:
            return None
        return re.sub(re.escape(rng.choice(present)), rng.choice(_ABSENT_OUTLETS), question, count=1, flags=re.I)

    def counted() -> str | None:
        match = re.match(r"(\s*how many\s+)([a-z-]+)", question, re.I)
        if not match:
            return None
        return match.group(1) + rng.choice([w for w in _COUNTED if w != match.group(2).lower()]) + question[match.end():]

    for swap in rng.sample([entity, outlet, counted], 3):
        made = swap()
        if made and made != question:
            return made
    return None


# -- examples ---------------------------------------------------------------------------------------

def example(components, dataset: str, item: Item, *, outlets: dict[str, int], weight: float = 1.0,
            group: str | None = None, top_k: int = 8) -> Example:
    """One question through the real retrieval and assessment, as the engine runs them (no
    gate model: its features)."""
    result, mentions = components.engine.retrieve(item.question, item.filters, top_k)
    a = assess(item.question, result.passages, chunks=result.chunks, vector=result.vector,
               best_dense=result.best_dense, outlets_in_archive=outlets, dense_articles=result.dense_articles,
               lexical_articles=result.lexical_articles, mentions=mentions)
    golds = item.gold_texts if item.label else ()
    labels = [int(bool(golds) and holds(s.text, golds)
                  and (not item.gold_articles or a.passages[s.n - 1].article_id in item.gold_articles))
              for s in a.sentences]
    return Example(dataset, item.id, group or f"{dataset}:{item.id}", item.question, item.label, weight, item.kind,
                   a.features, [s.features for s in a.sentences], labels,
                   [p.article_id for p in a.passages], sorted(item.gold_articles))


def examples_of(components, data: Dataset, synthetic: dict[str, Any], *, progress=None) -> list[Example]:
    """Every item of `data` (and, where the dataset allows, one perturbed copy of each
    answerable one), asked of the collection that holds its corpus."""
    outlets = components.lexical.current().outlets()
    rng = random.Random(int(synthetic.get("seed", 7)))
    corpus_text = " ".join(a.text.lower() for a in data.articles) if data.synthetic else ""
    out = []
    for item in data.items:
        out.append(example(components, data.name, item, outlets=outlets))
        if data.synthetic and item.label and synthetic.get("per_answerable", 0):
            made = perturb(item.question, rng, corpus_text, outlets)
            if made:
                fake = Item(item.id + "~", made, 0, item.filters, kind="synthetic")
                out.append(example(components, data.name + "-synthetic", fake, outlets=outlets,
                                   weight=float(synthetic.get("weight", 0.3)), group=f"{data.name}:{item.id}"))
        if progress:
            progress()
    return out
