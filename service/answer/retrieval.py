"""Hybrid retrieval: dense (Chroma) + lexical (BM25) candidates, reranked on six scores
(`HybridRetriever.rerank_features`; or fused by reciprocal rank or by score,
`service.answer.fusion`), then shaped into numbered sources (`service.answer.shaping`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from service.answer.budget import TokenCounts
from service.answer.fusion import FUSION_WEIGHTS, RRF_K, reciprocal_rank_fusion, score_fusion, weigh_features
from service.answer.shaping import collapse_duplicates, fit_budget, select_sources
from service.index import sentence_vectors
from service.index.embedding import Embedder
from service.index.lexical import LexicalIndex
from service.index.metadata import StoredChunk
from service.index.replica import LexicalReplica
from service.index.store import ArticleStore
from service.models import ArticleRef, Filters, FusionMode, Passage

EXTRA = 1  # sources beyond the times a named outlet is named: its second-best article is often the one asked about
Ranking = list[tuple[str, float]]  # (chunk id, score), best first
Features = Callable[[], list[dict[str, float]]]  # the rerank's features, made only when asked for
Fuser = Callable[[Sequence[Ranking], Features], Ranking]  # (dense, lexical) rankings and features -> one


@dataclass
class Candidates:
    """What `HybridRetriever.search` found: one ranking, and the chunks and each path's
    scores behind it."""

    fused: Ranking = field(default_factory=list)
    chunks: dict[str, StoredChunk] = field(default_factory=dict)
    dense_scores: dict[str, float] = field(default_factory=dict)  # cosine of each dense hit
    lexical_scores: dict[str, float] = field(default_factory=dict)  # BM25 of each lexical hit

    vector: np.ndarray | None = None  # the question's, when the dense path ran

    @property
    def best_dense(self) -> float:
        return max(self.dense_scores.values(), default=0.0)


def _top_articles(scores: Mapping[str, float], chunks: Mapping[str, StoredChunk], k: int = 10) -> list[str]:
    """The distinct articles of the best-scored chunks, best first, up to `k`."""
    ranked = sorted(scores, key=lambda cid: -scores[cid])
    return list(dict.fromkeys(str(chunks[c].metadata.get("article_id", "")) for c in ranked if c in chunks))[:k]


def _article_best(scores: Mapping[str, float], article_of: Mapping[str, str]) -> dict[str, float]:
    """Each chunk's score replaced by the best score of its article's chunks in `scores`."""
    best: dict[str, float] = {}
    for cid, score in scores.items():
        article = article_of[cid]
        if score > best.get(article, -np.inf):
            best[article] = score
    return {cid: best[article_of[cid]] for cid in scores}


@dataclass
class RetrievalResult:
    passages: list[Passage]  # numbered sources, [1] first
    best_dense: float  # cosine similarity of the best dense hit (the refusal signal)
    # What the answer's assessment reads without another embedding or store read: the
    # question's vector, and the chosen passages' chunks (their sentence vectors).
    vector: np.ndarray | None = None
    chunks: dict[str, StoredChunk] = field(default_factory=dict)
    # The articles each path ranked first (up to ten): how far the two paths agree.
    dense_articles: list[str] = field(default_factory=list)
    lexical_articles: list[str] = field(default_factory=list)


@dataclass
class HybridRetriever:
    store: ArticleStore
    embedder: Embedder
    lexical: LexicalReplica
    # Candidates a path. 30, not 50, since stop 27: the rerank reads and scores each one, and
    # 30 a path is about 1 ms (a tenth) of a SciFact retrieval (bench query, alternated: full
    # / bare p50 1.33-1.37x against 1.47-1.49x). SciFact train 0.7459 against 0.7472, the news
    # eval's fact coverage 0.820 against 0.823; MultiHop-RAG, the blind news set and held-out
    # sets 1 and 2 unchanged (docs/evals.md).
    candidates: int = 30
    fusion: FusionMode | str = FusionMode.RERANK  # a name is checked (and made a FusionMode) here
    rrf_k: int = RRF_K
    weights: tuple[float, ...] = ()  # per path or feature; empty: FUSION_WEIGHTS[fusion]
    token_budget: int = 1800
    # The most tokens a chunk holds (the chunker's size; the store's spec must match it): when
    # the chosen chunks cannot exceed the budget, their exact counts are not needed.
    chunk_tokens: int | None = None
    # Chunks of one article among the top_k, while other articles remain. 3, not 2, since
    # "rerank" (which ranks an article's lead chunk higher than RRF did, by its headline):
    # the third is often the fact, next to the other two, and merges with them into one
    # source (news eval: fact coverage 0.832 against 0.744 with 2; README, "Evals").
    per_article: int = 3

    def __post_init__(self) -> None:
        mode = FusionMode.from_str(self.fusion)
        self.fusion = mode
        self.weights = self.weights or FUSION_WEIGHTS[mode]
        fusers: dict[FusionMode, Fuser] = {
            FusionMode.RRF: self._by_rank,
            FusionMode.ZSCORE: self._by_score,
            FusionMode.RERANK: self._by_features,
        }
        self._fuse = fusers[mode]
        # The rerank needs the dense hits' BM25 too: read with their chunks, in one search.
        self._bm25_of_dense = mode is FusionMode.RERANK
        self._token_counts = TokenCounts(self.embedder.count_tokens)
        # Where the lexical search runs while the asking thread embeds the question and
        # queries Chroma (`search`): tantivy, onnxruntime and the wait on a Chroma server all
        # release the GIL, so the two paths overlap. It pays where BM25 is slow: with a
        # 1M-chunk lexical index beside a 100k-chunk `chroma run` server, retrieval p50 / p95
        # 31.4 / 45.9 ms against 33.4 / 48.1 run one after the other (alternated, 300
        # questions); on SciFact (embedded, 2,343 chunks) 10.45 against 10.63 ms, within the
        # noise. Its threads start on first use.
        self._lexical_searches = ThreadPoolExecutor(thread_name_prefix="newsdesk-lexical")

    def fuse(self, scored: Sequence[Ranking]) -> Ranking:
        """(dense, lexical) rankings -> one, by this retriever's fusion, for the fusions of two
        lists (RRF, z-scores: `newsdesk bench lexical` fuses other engines' lists this way).
        The rerank scores the candidates themselves, which only `search` has."""
        def no_features() -> list[dict[str, float]]:
            raise ValueError("the rerank weighs the candidates' features, not two rankings: use search()")
        return self._fuse(scored, no_features)

    def _by_rank(self, scored: Sequence[Ranking], features: Features) -> Ranking:
        return reciprocal_rank_fusion([[cid for cid, _ in items] for items in scored], k=self.rrf_k,
                                      weights=self.weights[:len(scored)])

    def _by_score(self, scored: Sequence[Ranking], features: Features) -> Ranking:
        return score_fusion(scored, weights=self.weights[:len(scored)])

    def _by_features(self, scored: Sequence[Ranking], features: Features) -> Ranking:
        return weigh_features(features(), self.weights)

    def search(self, question: str, filters: Filters = Filters(), *, mode: str = "hybrid",
               n: int | None = None, vector: np.ndarray | None = None) -> Candidates:
        """Up to `n` candidates a path, in one ranking. `mode`: "hybrid" (both paths, fused),
        or "dense" or "lexical" (that path's own ranking)."""
        n = n or self.candidates
        found = Candidates()
        scored: list[Ranking] = []
        # The lexical index stores each chunk's text and metadata on disk, so dense hits are
        # resolved from it; only chunks it has not caught up with are fetched from Chroma.
        index = self.lexical.current()
        lexical = mode in ("hybrid", "lexical")
        # The lexical search runs on a worker while this thread embeds the question and asks
        # Chroma for the nearest chunks; the dense hits are then resolved against its hits,
        # so a chunk both paths found is read once, with its BM25.
        pending: Future | None = self._lexical_searches.submit(index.search, question, n, filters) if lexical else None
        if vector is None and mode in ("hybrid", "dense"):
            vector = self.embedder.embed([question])[0]
        found.vector = vector
        nearest = self.store.query_ids(vector, n, filters.to_where()) if vector is not None else []
        hits = pending.result() if pending is not None else []
        bm25_of_dense: dict[str, float] = {}  # what the rerank needs of the dense hits, read with them
        if vector is not None:
            ranking, bm25_of_dense = self._dense(question, nearest, index, found, known=[hit for hit, _ in hits],
                                                 with_bm25=mode == "hybrid" and self._bm25_of_dense)
            scored.append(ranking)
        if lexical:
            for hit, score in hits:
                found.chunks.setdefault(hit.chunk_id, hit)
                found.lexical_scores[hit.chunk_id] = score
            scored.append([(hit.chunk_id, score) for hit, score in hits])
        if mode != "hybrid":
            found.fused = scored[0]  # one path: its own ranking
            return found

        def features() -> list[dict[str, float]]:
            assert vector is not None  # hybrid: the dense path ran
            return self.rerank_features(question, vector, found.chunks, found.dense_scores,
                                        {**bm25_of_dense, **found.lexical_scores}, index)

        found.fused = self._fuse(scored, features)
        return found

    def _dense(self, question: str, hits: Sequence[tuple[str, float]], index: LexicalIndex,
               found: Candidates, *, known: Sequence[StoredChunk], with_bm25: bool) -> tuple[Ranking, dict[str, float]]:
        """The dense path's ranking from Chroma's nearest chunks `hits` (id, cosine distance),
        their chunks and cosines added to `found`; with `with_bm25`, each hit's BM25 as well.
        `known`: the lexical path's hits, whose chunks and BM25 are read already (a chunk both
        paths found is read once)."""
        have = {c.chunk_id: c for c in known}
        read, bm25 = index.get_scored([cid for cid, _ in hits if cid not in have], question if with_bm25 else "")
        have |= read
        missing = [cid for cid, _ in hits if cid not in have]
        fetched = {c.chunk_id: c for c in self.store.get_chunks(missing)}  # written since the sync
        for cid, distance in hits:
            chunk = have.get(cid) or fetched.get(cid)
            if chunk is None:
                continue  # deleted since the query: nothing to cite
            found.chunks[cid] = chunk
            found.dense_scores[cid] = 1.0 - float(distance)
        return [(cid, found.dense_scores[cid]) for cid, _ in hits if cid in found.chunks], bm25

    def rerank_features(self, question: str, vector: np.ndarray, chunks: Mapping[str, StoredChunk], dense: Mapping[str, float],
                        lexical: Mapping[str, float], index: LexicalIndex) -> list[dict[str, float]]:
        """Six scores for every candidate, whichever path found it: its cosine with the
        question, its BM25, its best sentence's cosine (vectors made at ingest), its whole
        article's BM25, and its article's best chunk cosine and best sentence cosine among
        the candidates. A chunk only one path found gets the other path's score computed
        for it (its stored vectors; BM25 read with the chunk, or among named ids), where a
        fusion of two lists would give it a floor. `lexical`: the BM25 known so far.
        The article's best among the candidates (`_article_best`) costs no read: the answer
        one chunk states is often asked in words another chunk of its article holds.
        SciFact train nDCG@10, weights in `FUSION_WEIGHTS` (docs/evals.md): 0.7472 for the
        six, 0.7445 for the first four, 0.732 for the two paths' z-scores, 0.718 for RRF, at
        50 candidates a path; the six at the 30 served, 0.7459. The chunk's own best sentence
        weighs nothing of its own (its article's best does) but is kept: refitting reads it."""
        ids = list(chunks)
        blobs = {c: blob for c in ids if (blob := chunks[c].vectors)}
        pairs = dict(zip(blobs, sentence_vectors.cosines(vector, list(blobs.values())), strict=True))
        cosine = {**{c: pair[0] for c, pair in pairs.items()}, **dense}  # the path's exact cosine where it has one
        missing = [c for c in ids if c not in cosine]  # written before chunks kept their vectors
        cosine.update({c: float(v @ vector) for c, v in self.store.vectors_of(missing).items()})
        bm25 = dict(lexical)
        unscored = [c for c in ids if c not in bm25]
        bm25.update(index.scores(question, unscored))
        article_of = {c: str(chunks[c].metadata.get("article_id", "")) for c in ids}
        articles = index.article_scores(question, list(article_of.values()))
        present = [c for c in ids if c in cosine]  # a chunk deleted since the query has no vector
        cosine = {c: cosine[c] for c in present}
        sentence = {c: pairs[c][1] if c in pairs else cosine[c] for c in present}
        return [
            cosine,
            {c: bm25.get(c, 0.0) for c in present},
            sentence,
            {c: articles.get(article_of[c], 0.0) for c in present},
            _article_best(cosine, article_of),
            _article_best(sentence, article_of),
        ]

    def retrieve(self, question: str, filters: Filters = Filters(), top_k: int = 8, *,
                 outlets: Sequence[str] = ()) -> RetrievalResult:
        """The `top_k` sources for `question`. `outlets`: outlets the question names (each
        time it names one), each of which gets a source of its own when the ranking leaves
        it out ("does the Verge article say X, while TechCrunch says Y?")."""
        found = self.search(question, filters)
        chunks = found.chunks
        passages = [self._passage(cid, score, found) for cid, score in found.fused]
        samples = {cid: c.shingle_sample for cid, c in chunks.items() if c.shingle_sample is not None}
        passages = collapse_duplicates(passages, limit=top_k * 4, samples=samples)
        passages = select_sources(passages, top_k, self.per_article)
        if outlets:
            passages = self._cover_outlets(question, filters, top_k, outlets, passages, found)
        self._token_counts.remember(passages, chunks)
        if not self.chunk_tokens or self._token_counts.upper_bound(passages, self.chunk_tokens) > self.token_budget:
            passages = fit_budget(passages, self.token_budget, self._token_counts)  # else all fit
        chosen = {cid for p in passages for cid in p.chunk_ids}
        return RetrievalResult(passages=passages, best_dense=found.best_dense, vector=found.vector,
                               chunks={cid: chunks[cid] for cid in chosen if cid in chunks},
                               dense_articles=_top_articles(found.dense_scores, chunks),
                               lexical_articles=_top_articles(found.lexical_scores, chunks))

    def _passage(self, cid: str, score: float, found: Candidates) -> Passage:
        chunk = found.chunks[cid]
        return Passage(
            chunk_ids=[cid],
            article=ArticleRef.from_metadata(chunk.metadata),
            text=chunk.text,
            char_start=int(chunk.metadata["char_start"]),
            char_end=int(chunk.metadata["char_end"]),
            score=score,
            dense_score=found.dense_scores.get(cid),
            lexical_score=found.lexical_scores.get(cid),
        )

    def _cover_outlets(self, question: str, filters: Filters, top_k: int, outlets: Sequence[str],
                       passages: list[Passage], found: Candidates) -> list[Passage]:
        """For each named outlet with fewer sources than the question names it, its best
        passage from a search within that outlet (the question's vector reused), in place of
        the lowest-ranked source from an outlet the question does not name."""
        want = Counter(o for o in outlets if not filters.outlets or o in filters.outlets)
        want = Counter({o: t + EXTRA for o, t in want.items()})
        out = list(passages)
        for outlet, times in want.items():
            have = [p for p in out if outlet in (p.outlet, *(c.outlet for c in p.corroborated_by))]
            if len(have) >= times:
                continue
            within = self.search(question, replace(filters, outlets=(outlet,)), vector=found.vector,
                                 n=max(10, 2 * times))
            taken = {p.article_id for p in out}
            extra = [self._passage(cid, score, within) for cid, score in within.fused
                     if str(within.chunks[cid].metadata.get("article_id")) not in taken][: times - len(have)]
            for p in extra:
                found.chunks |= {cid: within.chunks[cid] for cid in p.chunk_ids}
                others = [i for i, q in enumerate(out) if q.outlet not in want]
                if len(out) >= top_k and others:
                    out.pop(others[-1])
                out.append(p)
        return out
