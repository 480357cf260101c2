"""Shaping ranked passages into numbered sources: near-duplicates (wire copies) collapsed
into one source with corroboration, at most a few passages per article, adjacent chunks
merged into exact slices, and the sources fitted to a token budget.

Each step is a small pure function so it can be tested (and property-tested) on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from service.models import Passage
from service.text import shingle_sample as text_shingle_sample
from service.text import shingles

NEAR_DUPLICATE = 0.6


# Cached: the same chunks come back query after query. Bounded by entries, each about an
# eighth of the text's shingles plus the text itself: a few KiB, so about 20 MiB at most.
# (Caching the full shingle sets, 50,000 of them, grew a replica serving a large archive
# by 500 MiB: `newsdesk bench scale` measures a replica's RSS.) Chunks read from the
# lexical index bring their sample with them and skip this.
shingle_sample = lru_cache(maxsize=8_192)(text_shingle_sample)


def near_duplicate(a: frozenset, b: frozenset, threshold: float = NEAR_DUPLICATE) -> bool:
    """Containment of the smaller shingle set in the larger: a wire story republished with
    an extra line or a new headline still counts as the same text."""
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= threshold


def collapse_duplicates(passages: list[Passage], limit: int | None = None,
                        samples: Mapping[str, frozenset[int]] | None = None) -> list[Passage]:
    """One source for each group of near-identical passages from different articles, in
    the rank of the group's best passage. It shows the original wire (see `more_original`);
    the reprints are recorded on it as corroboration.

    With `limit`, the result is `collapse_duplicates(passages)[:limit]` (corroboration
    included), but once `limit` passages are kept the rest are only compared with those,
    not with each other: a fraction of the pairwise comparisons. `samples`: shingle samples
    known already, by chunk id (the lexical index stores one per chunk)."""
    kept = _Kept()
    full: dict[str, frozenset] = {}  # full shingle sets, made only for pairs whose samples meet

    def shingled(text: str) -> frozenset:
        if text not in full:
            full[text] = shingles(text)
        return full[text]

    samples = samples or {}
    for passage in passages:
        sample = samples.get(passage.chunk_ids[0]) if len(passage.chunk_ids) == 1 else None
        if sample is None:
            sample = shingle_sample(passage.text)
        for i in kept.meeting(sample):  # the sampled sets first: most pairs share nothing
            other = kept.passages[i]
            if other.article_id != passage.article_id and near_duplicate(shingled(passage.text), shingled(other.text)):
                if more_original(passage, other):
                    kept.replace(i, _represent(passage, other), sample)
                elif passage.article_id not in {c.article_id for c in other.corroborated_by}:
                    other.corroborated_by.append(passage.article)
                break
        else:
            if limit is None or len(kept.passages) < limit:
                kept.add(passage, sample)
    return kept.passages


class _Kept:
    """The passages `collapse_duplicates` keeps, and which of them hold each sampled shingle:
    a passage meets those its own shingles' lists name, a few dozen lookups (testing it
    against every kept sample cost 1.2 ms a query on SciFact; this, 0.6)."""

    def __init__(self) -> None:
        self.passages: list[Passage] = []
        self.samples: list[frozenset] = []
        self.holders: dict[int, set[int]] = {}

    def meeting(self, sample: frozenset) -> list[int]:
        """The kept passages whose samples share a shingle with `sample`, in kept order."""
        holders = self.holders
        return sorted({i for h in sample if h in holders for i in holders[h]})

    def add(self, passage: Passage, sample: frozenset) -> None:
        self.passages.append(passage)
        self.samples.append(frozenset())
        self.replace(len(self.passages) - 1, passage, sample)

    def replace(self, i: int, passage: Passage, sample: frozenset) -> None:
        for h in self.samples[i]:
            self.holders[h].discard(i)
        for h in sample:
            self.holders.setdefault(h, set()).add(i)
        self.passages[i], self.samples[i] = passage, sample


def more_original(a: Passage, b: Passage) -> bool:
    """Is `a` the original of which `b` is a copy? The copy from the agency a dateline
    credits ("BRUSSELS (Meridian Press Agency) —") wins; otherwise the earlier-published."""
    def from_agency(p: Passage, other: Passage) -> bool:
        return bool(p.outlet) and f"({p.outlet}" in other.text[:300] and f"({other.outlet}" not in p.text[:300]
    if from_agency(a, b) != from_agency(b, a):
        return from_agency(a, b)
    mine, theirs = a.published_at, b.published_at
    if not mine:
        return False
    return not theirs or mine < theirs


def _represent(original: Passage, copy: Passage) -> Passage:
    """The original in the copy's place: its rank and score, the copy among its corroboration."""
    seen = {original.article_id}
    corroboration = []
    for c in [copy.article, *copy.corroborated_by, *original.corroborated_by]:
        if c.article_id not in seen:
            seen.add(c.article_id)
            corroboration.append(c)
    original.score = max(original.score, copy.score)
    original.dense_score = _max(original.dense_score, copy.dense_score)
    original.lexical_score = _max(original.lexical_score, copy.lexical_score)
    original.corroborated_by = corroboration
    return original


def spread_articles(passages: list[Passage], k: int, per_article: int) -> list[Passage]:
    """The best `k` passages, at most `per_article` from any one article while others are
    left, so one long article cannot fill every source slot. Rank order is kept."""
    counts: dict[str, int] = {}
    first: list[Passage] = []
    rest: list[Passage] = []
    for passage in passages:
        counts[passage.article_id] = counts.get(passage.article_id, 0) + 1
        (first if counts[passage.article_id] <= per_article else rest).append(passage)
    chosen = set(map(id, (first + rest)[:k] if len(first) < k else first[:k]))
    return [p for p in passages if id(p) in chosen]


def select_sources(passages: list[Passage], k: int, per_article: int) -> list[Passage]:
    """`k` sources: `spread_articles`' choice, merged (`merge_adjacent`), widened by more
    candidates while merging leaves fewer than `k`. Two neighbouring chunks of one article
    make one source, so without widening 8 chunks often gave 6 or 7 sources and fewer
    articles for a question that needs several (`newsdesk bench compare`)."""
    n = k
    while True:
        merged = merge_adjacent(spread_articles(passages, n, per_article))
        if len(merged) >= k or n >= len(passages):
            return merged[:k]
        n += k - len(merged)


def merge_adjacent(passages: list[Passage]) -> list[Passage]:
    """Join passages of one article whose character spans overlap or touch; the merged
    passage takes the place of the better-ranked one. Text is rebuilt from the offsets, so
    it is still an exact slice of the article."""
    out: list[Passage] = []
    for passage in passages:
        for i, other in enumerate(out):
            if other.article_id == passage.article_id and passage.char_start <= other.char_end and other.char_start <= passage.char_end:
                out[i] = _join(other, passage)
                break
        else:
            out.append(passage)
    # A merge can make a passage reach a third one: repeat until nothing changes.
    return out if len(out) == len(passages) else merge_adjacent(out)


def _join(a: Passage, b: Passage) -> Passage:
    first, second = (a, b) if a.char_start <= b.char_start else (b, a)
    if second.char_end <= first.char_end:
        text, end = first.text, first.char_end
    else:
        text = first.text + second.text[first.char_end - second.char_start:]
        end = second.char_end
    return Passage(
        chunk_ids=a.chunk_ids + [c for c in b.chunk_ids if c not in a.chunk_ids],
        article=a.article,
        text=text,
        char_start=first.char_start,
        char_end=end,
        score=max(a.score, b.score),
        dense_score=_max(a.dense_score, b.dense_score),
        lexical_score=_max(a.lexical_score, b.lexical_score),
        corroborated_by=a.corroborated_by + [c for c in b.corroborated_by if c not in a.corroborated_by],
    )


def _max(x: float | None, y: float | None) -> float | None:
    values = [v for v in (x, y) if v is not None]
    return max(values) if values else None


def fit_budget(passages: list[Passage], budget: int, count_tokens: Callable[[Sequence[str]], list[int]]) -> list[Passage]:
    """Passages in rank order while they fit `budget` tokens; one that does not fit is
    skipped so a shorter, lower-ranked one may still go in. The first always goes in."""
    counts = count_tokens([p.text for p in passages])
    chosen: list[Passage] = []
    used = 0
    for passage, count in zip(passages, counts, strict=True):
        if chosen and used + count > budget:
            continue
        chosen.append(passage)
        used += count
    return chosen
