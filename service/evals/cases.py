"""Eval cases and what running one gives: the sample corpus (with its placeholders), the
JSONL cases over it, and `CaseRun`, one case answered in one mode. Scoring reads these;
the runner makes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.errors import EvalError
from service.evals.cassettes import SCRIPTED_MARKER
from service.evals.jsonl import read_jsonl
from service.models import Answer, Article, Filters

ADVERSARIAL_KINDS = ("hallucinated_source", "uncited_claim", "fabricated_quote", "obeys_injection")
# Case files name two kinds of article by placeholder instead of by id: the founding
# article (corpus/microsoft-openai-saga.txt) and plain-text files, whose ids are hashes of
# their text. They are resolved against the corpus when the cases are loaded, so an edit
# to one of those files does not silently break the cases.
FOUNDING = "FOUNDING"
FOUNDING_FILE = "microsoft-openai-saga.txt"
TEXT_PREFIX = "TXT:"


# -- corpus and cases ----------------------------------------------------------------------------

@dataclass
class Corpus:
    articles: list[Article]

    @property
    def texts(self) -> dict[str, str]:
        return {a.article_id: a.text for a in self.articles}

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(a.article_id for a in self.articles)

    def by_file(self) -> dict[str, str]:
        """File name -> article id, for files that hold a single article."""
        counts: dict[str, int] = {}
        names: dict[str, str] = {}
        for article in self.articles:
            name = Path((article.origin or "").split(":")[0]).name
            counts[name] = counts.get(name, 0) + 1
            names[name] = article.article_id
        return {name: aid for name, aid in names.items() if counts[name] == 1}

    def resolve(self, token: str) -> str:
        if token == FOUNDING:
            token = TEXT_PREFIX + FOUNDING_FILE
        if token.startswith(TEXT_PREFIX):
            name = token[len(TEXT_PREFIX):]
            try:
                return self.by_file()[name]
            except KeyError:
                raise EvalError(f"placeholder {token!r}: no single-article file {name!r} in the corpus") from None
        return token


def load_corpus(directory: Path) -> Corpus:
    """The article files of `directory`, as `newsdesk ingest` reads them (a README is
    documentation, not an article)."""
    from service.ingest.loading import iter_files, load_file

    articles = []
    for path, error in iter_files([directory]):
        if error:
            raise EvalError(error.message)
        if path.stem.lower() == "readme":
            continue
        found, problems = load_file(path)
        if problems:
            raise EvalError(f"sample corpus: {problems[0].message}")
        articles.extend(found)
    if not articles:
        raise EvalError(f"no articles in {directory}")
    return Corpus(articles)


@dataclass(frozen=True)
class EvalCase:
    id: str
    question: str
    filters: Filters = Filters()
    expected_sources: tuple[str, ...] = ()
    expected_facts: tuple[tuple[str, ...], ...] = ()
    must_refuse: bool = False
    must_mention_conflict: bool = False
    tags: tuple[str, ...] = ()
    scripted: str | None = None
    adversarial: str | None = None
    raw_filters: dict[str, Any] | None = None


def parse_case(record: dict[str, Any], corpus: Corpus, where: str) -> EvalCase:
    def fail(message: str) -> EvalError:
        return EvalError(f"{where}: {message}")

    for name in ("id", "question"):
        if not isinstance(record.get(name), str) or not record[name].strip():
            raise fail(f"`{name}` must be a non-empty string")
    raw_filters = record.get("filters") or None
    try:
        given = dict(raw_filters or {})
        if given.get("article_ids"):
            given["article_ids"] = [corpus.resolve(a) for a in given["article_ids"]]
        filters = Filters.from_mapping(given)
    except (ValueError, AttributeError, TypeError) as exc:
        raise fail(f"bad filters: {exc}") from None
    expected = tuple(corpus.resolve(s) for s in record.get("expected_sources") or ())
    unknown = [s for s in expected + filters.article_ids if s not in corpus.ids]
    if unknown:
        raise fail(f"article id(s) not in the corpus: {', '.join(unknown)}")
    facts = record.get("expected_facts") or []
    if not all(isinstance(f, list) and f and all(isinstance(p, str) for p in f) for f in facts):
        raise fail("`expected_facts` must be a list of non-empty lists of phrasings")
    adversarial = record.get("adversarial") or None
    if adversarial is not None and adversarial not in ADVERSARIAL_KINDS:
        raise fail(f"unknown adversarial kind {adversarial!r} (known: {', '.join(ADVERSARIAL_KINDS)})")
    scripted = record.get("scripted")
    if scripted is not None:
        scripted = SCRIPTED_MARKER.sub(lambda m: f"[@{corpus.resolve(m.group(1))}]", str(scripted))
    return EvalCase(
        id=record["id"],
        question=record["question"],
        filters=filters,
        expected_sources=expected,
        expected_facts=tuple(tuple(f) for f in facts),
        must_refuse=bool(record.get("must_refuse")),
        must_mention_conflict=bool(record.get("must_mention_conflict")),
        tags=tuple(record.get("tags") or ()),
        scripted=scripted,
        adversarial=adversarial,
        raw_filters=raw_filters,
    )


def load_cases(path: Path, corpus: Corpus) -> list[EvalCase]:
    if not Path(path).is_file():
        raise EvalError(f"no cases file at {path}")
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for where, record in read_jsonl(path):
        try:
            case = parse_case(record, corpus, where)
        except EvalError as exc:
            raise exc if exc.message.startswith(where) else EvalError(f"{where}: {exc.message}") from None
        if case.id in seen:
            raise EvalError(f"{where}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


@dataclass
class CaseRun:
    """One case answered in one mode."""

    case: EvalCase
    mode: str
    answer: Answer
    raw_text: str  # what the generator wrote, before the citation checks
    ranking: list[str]  # article ids, ranked by their best chunk in the fused ranking
    best_dense: float
    served: str | None = None  # llm mode: "cassette" | "scripted" | "live"
    error: str | None = None

    @property
    def refused(self) -> bool:
        return not self.answer.answerable

    @property
    def cited_articles(self) -> list[str]:
        """Each cited source's article, and the wire copies collapsed into it."""
        by_n = {s.n: s for s in self.answer.sources}
        out: list[str] = []
        for citation in self.answer.citations:
            out.append(citation.article_id)
            source = by_n.get(citation.n)
            out.extend(c.article_id for c in (source.corroborated_by if source else ()))
        return list(dict.fromkeys(out))
