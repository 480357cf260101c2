"""Reading a BEIR-format folder: corpus.jsonl, queries.jsonl and qrels/<split>.tsv."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from service.errors import EvalError
from service.models import Article

# Published nDCG@10 for reference (BEIR paper and the sentence-transformers model card).
PUBLISHED = {
    "scifact": {"bm25": "0.665–0.687", "all-MiniLM-L6-v2": "0.645"},
}


@dataclass
class BeirDataset:
    name: str
    articles: list[Article]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


def _require(path: Path) -> Path:
    if not path.is_file():
        raise EvalError(f"not a BEIR folder: {path} is missing")
    return path


def load_corpus(folder: Path, limit: int | None = None) -> list[Article]:
    articles: list[Article] = []
    with _require(folder / "corpus.jsonl").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if limit is not None and len(articles) >= limit:
                break
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalError(f"{folder / 'corpus.jsonl'}:{number}: invalid JSON: {exc.msg}") from None
            title = (record.get("title") or "").strip()
            body = (record.get("text") or "").strip()
            text = f"{title}\n\n{body}" if title and body else (body or title)
            if not text:
                continue
            articles.append(Article(article_id=str(record["_id"]), title=title or body[:80], text=text, source=folder.name))
    return articles


def load_queries(folder: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    with _require(folder / "queries.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                queries[str(record["_id"])] = record["text"]
    return queries


def load_qrels(folder: Path, split: str) -> dict[str, dict[str, int]]:
    path = folder / "qrels" / f"{split}.tsv"
    if not path.is_file():
        available = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        raise EvalError(f"no qrels for split {split!r} in {folder} (available: {', '.join(available) or 'none'})")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        for row in reader:
            if len(row) < 3 or row[0] == "query-id":
                continue
            if int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def load_dataset(folder: Path, split: str, limit: int | None = None) -> BeirDataset:
    folder = Path(folder)
    qrels = load_qrels(folder, split)
    queries = {qid: text for qid, text in load_queries(folder).items() if qid in qrels}
    return BeirDataset(folder.name, load_corpus(folder, limit), queries, qrels)
