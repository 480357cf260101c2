"""One assessment per question: its analysis, every quotable sentence of the sources with what
it holds for the question, and the question-level features the gate weighs. Built once per ask
(`assess`) and passed to the gate, the extractive answer, the short answer and the conflict
check, so the question is read once and each sentence scored once.

A sentence's cosine with the question comes from the vectors stored with its chunk at ingest
(`service.index.sentence_vectors`): no sentence is embedded at question time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from service.answer.analysis import (
    QUESTION_STEMS,
    OutletMention,
    QuestionAnalysis,
    analyse,
    clauses,
    outlet_mentions,
)
from service.answer.evidence import Evidence, entity_found, evidence
from service.answer.sentences import Candidate, candidates
from service.index import sentence_vectors
from service.index.metadata import StoredChunk
from service.models import Passage
from service.text import tokenize

_DIGIT = re.compile(r"\d")
KINDS = ("count", "money", "person", "name", "date", "open")


@dataclass(frozen=True)
class AssessedSentence:
    """A quotable sentence of a source and what it holds for the question."""

    candidate: Candidate
    cosine: float  # with the question, from the stored sentence vector (0.0 when none is stored)
    evidence: Evidence  # against the whole question
    lexical: float  # the question's words it holds, each weighted by its rarity among the sentences
    features: dict[str, float]  # what the sentence model weighs (`sentence_features`)
    words: frozenset[str]  # its word stems (`tokenize`), read once here
    score: float = 0.0  # the sentence model's probability that it holds the answer

    @property
    def n(self) -> int:
        return self.candidate.n

    @property
    def text(self) -> str:
        return self.candidate.text


@dataclass
class Assessment:
    """What the question asks and what the sources hold of it."""

    question: str
    analysis: QuestionAnalysis
    clauses: tuple[QuestionAnalysis, ...]  # the question's parts ("..., and when ...?"), the whole first
    passages: Sequence[Passage]
    sentences: list[AssessedSentence]
    outlets: list[OutletMention]  # the outlets the question names (None: not in the archive)
    best_dense: float
    features: dict[str, float] = field(default_factory=dict)  # the gate's (`question_features`)
    answerability: float = 1.0  # the gate's probability that the sources answer the question

    def ranked(self) -> list[int]:
        """Sentence indexes, the likeliest to hold the answer first."""
        return sorted(range(len(self.sentences)), key=lambda i: -self.sentences[i].score)


def _row_cosines(chunk: StoredChunk, question: np.ndarray) -> list[tuple[int, int, float]]:
    """(start, end, cosine) of each stored sentence row of a chunk, in article offsets."""
    if not chunk.vectors:
        return []
    rows = sentence_vectors.decode(chunk.vectors, question.shape[0])[1:] @ question
    base = int(chunk.metadata.get("char_start", 0))
    spans = sentence_vectors.row_spans(chunk.text)
    return [(base + s, base + e, float(c)) for (s, e), c in zip(spans, rows, strict=False)]


def sentence_cosines(found: Sequence[Candidate], passages: Sequence[Passage], chunks: Mapping[str, StoredChunk],
                     question: np.ndarray | None) -> list[float]:
    """Each candidate's cosine: the stored row that overlaps it most (a candidate is a
    sentence of the passage, a row one of its chunk's; they are cut the same way, but a
    trimmed dateline or a merged passage can shift the edges)."""
    if question is None:
        return [0.0] * len(found)
    rows: dict[str, list[tuple[int, int, float]]] = {}
    out = []
    for c in found:
        passage = passages[c.n - 1]
        start, end = passage.char_start + c.start, passage.char_start + c.end
        best, overlap = 0.0, 0
        for cid in passage.chunk_ids:
            if cid not in rows:
                rows[cid] = _row_cosines(chunks[cid], question) if cid in chunks else []
            for s, e, cosine in rows[cid]:
                shared = min(e, end) - max(s, start)
                if shared > overlap:
                    best, overlap = cosine, shared
        out.append(best)
    return out


def _idf_share(terms: set[str], words: Sequence[frozenset[str]]) -> list[float]:
    """Per sentence, the share of the question's words it holds, weighted by rarity."""
    idf = {t: math.log(1 + len(words) / (1 + sum(t in w for w in words))) for t in terms}
    total = sum(idf.values()) or 1.0
    return [sum(idf[t] for t in terms & w) / total for w in words]


def sentence_features(q: QuestionAnalysis, c: Candidate, ev: Evidence, cosine: float, top: float, rank: int,
                      lexical: float, passage: Passage, named_outlets: frozenset[str] = frozenset()) -> dict[str, float]:
    """What the sentence model weighs. `factoid`: the question asks for a count, an amount, a
    name or a date, whose presence matters only then. `named_outlets`: the archive's outlets
    the question names ("reported by TechCrunch"): a sentence one of them published."""
    factoid = float(q.kind != "open")
    outlets = {passage.outlet, *(x.outlet for x in passage.corroborated_by)}
    title_words = set(tokenize(passage.title))
    return {
        "outlet_named": float(bool(named_outlets & outlets)),
        "title_cov": len(q.terms & title_words) / len(q.terms) if q.terms else 0.0,
        "cos": cosine, "cos_gap": cosine - top, "cos_rank": math.log1p(rank), "src": math.log(c.n),
        "src_dense": passage.dense_score or 0.0, "typed": float(ev.typed), "focused": float(ev.focused),
        "ent": ev.entities, "support": ev.support, "lex": lexical, "has_num": float(bool(_DIGIT.search(c.text))),
        "answers": float(ev.answers), "f_typed": factoid * ev.typed, "f_focused": factoid * ev.focused,
        "f_answers": factoid * ev.answers, "f_ent": factoid * ev.entities,
    }


def assess_sentences(q: QuestionAnalysis, passages: Sequence[Passage], chunks: Mapping[str, StoredChunk],
                     vector: np.ndarray | None, named_outlets: frozenset[str] = frozenset()) -> list[AssessedSentence]:
    found = candidates(passages)
    cosines = sentence_cosines(found, passages, chunks, vector)
    words = [frozenset(tokenize(c.text)) for c in found]
    lexical = _idf_share(set(tokenize(q.text)) - QUESTION_STEMS, words)
    top = max(cosines, default=0.0)
    rank = {i: r for r, i in enumerate(sorted(range(len(found)), key=lambda i: -cosines[i]))}
    out = []
    for i, c in enumerate(found):
        ev = evidence(q, c.text, c.context, c.outlet)
        out.append(AssessedSentence(c, cosines[i], ev, lexical[i],
                                    sentence_features(q, c, ev, cosines[i], top, rank[i], lexical[i], passages[c.n - 1],
                                                      named_outlets), words[i]))
    return out


def _coverage(terms: set[str], text: str) -> float:
    return len(terms & set(tokenize(text))) / len(terms) if terms else 1.0


def _max(values: Sequence[float] | Sequence[int]) -> float:
    return float(max(values, default=0.0))


def question_features(a: Assessment, dense_articles: Sequence[str], lexical_articles: Sequence[str]) -> dict[str, float]:
    """What the gate weighs, for the whole question (names in docs/evals.md)."""
    q, passages, sentences = a.analysis, a.passages, a.sentences
    terms = set(tokenize(q.text)) - QUESTION_STEMS
    texts = [f"{p.title} {p.outlet or ''} {p.text}" for p in passages]
    found = [any(entity_found(e, t) for t in texts) for e in q.entities]
    named = [m for m in a.outlets]
    sourced = {o for p in passages for o in (p.outlet, *(c.outlet for c in p.corroborated_by)) if o}
    dense, lexical = set(dense_articles), set(lexical_articles)
    scores = sorted((s.score for s in sentences), reverse=True) + [0.0, 0.0]
    features = {
        "best_dense": a.best_dense,
        "best_sentence": _max([s.cosine for s in sentences]),
        "agree": len(dense & lexical) / len(dense | lexical) if dense | lexical else 0.0,
        "cov_top": _coverage(terms, texts[0]) if texts else 0.0,
        "cov_union3": _coverage(terms, " ".join(texts[:3])),
        "ent_frac": sum(found) / len(found) if found else 1.0,
        "ent_all": float(all(found)),
        "n_ent": float(len(found)),
        "outlets_named": float(len(named)),
        "outlets_missing": float(sum(m.outlet is None for m in named)),
        "outlets_unsourced": float(sum(m.outlet is not None and m.outlet not in sourced for m in named)),
        "answers_max": _max([s.evidence.answers for s in sentences]),
        "answers_count": math.log1p(sum(s.evidence.answers for s in sentences)),
        "typed_cos": _max([s.cosine for s in sentences if s.evidence.typed]),
        "answer_cos": _max([s.cosine for s in sentences if s.evidence.answers]),
        "ent_typed": _max([s.evidence.entities for s in sentences if s.evidence.typed and s.evidence.focused]),
        "support_max": _max([s.evidence.support for s in sentences]),
        "ent_sent_max": _max([s.evidence.entities for s in sentences]),
        "clauses_answered": _clauses_answered(a),
        "sent_p1": scores[0], "sent_p2": scores[1],
        "statement": float(q.statement), "polar": float(q.polar), "qlen": math.log1p(len(q.text.split())),
    }
    features.update({f"kind_{k}": float(q.kind == k) for k in KINDS})
    return features


def _clauses_answered(a: Assessment) -> float:
    """The share of the question's parts some sentence answers (each named thing of a part
    may be answered by its own sentence)."""
    if not a.sentences:
        return 0.0
    if len(a.clauses) == 1:  # the whole question: its sentences' evidence is known
        return float(any(s.evidence.answers for s in a.sentences))
    done = 0
    for part in a.clauses:
        if any(evidence(part, s.text, s.candidate.context, s.candidate.outlet).answers for s in a.sentences):
            done += 1
    return done / len(a.clauses)


def assess(question: str, passages: Sequence[Passage], *, chunks: Mapping[str, StoredChunk],
           vector: np.ndarray | None, best_dense: float, outlets_in_archive: Mapping[str, int],
           dense_articles: Sequence[str] = (), lexical_articles: Sequence[str] = (),
           scorer=None, mentions: Sequence[OutletMention] | None = None) -> Assessment:
    """The question's assessment over `passages`. `scorer` (the gate's model) gives each
    sentence its score and the question its answerability; without one, sentences keep the
    order of their evidence and the question counts as answerable. `mentions`: the outlets the
    question names, when the caller read them already (before retrieval)."""
    q = analyse(question)
    parts = tuple(q if c == question else analyse(c) for c in clauses(question))
    if mentions is None:
        mentions = outlet_mentions(question, outlets_in_archive)
    sentences = assess_sentences(q, passages, chunks, vector, frozenset(m.outlet for m in mentions if m.outlet))
    a = Assessment(question, q, parts if len(parts) > 1 else (q,), passages, sentences, list(mentions), best_dense)
    if scorer is not None:
        scored = scorer.score_sentences([s.features for s in sentences])
        a.sentences = [replace(s, score=float(p)) for s, p in zip(sentences, scored, strict=True)]
    a.features = question_features(a, dense_articles, lexical_articles)
    if scorer is not None:
        a.answerability = scorer.answerability(a.features)
    return a
