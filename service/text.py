"""Text primitives shared by every stage: sentence spans, lexical tokens, and the data
files llama-index-core bundles (NLTK's Punkt and stopwords, tiktoken's encodings), found in
one place so no other module knows llama-index's private `_static` layout."""

from __future__ import annotations

import os
import re
import zlib
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def bundled_data_dir() -> Path:
    """llama-index-core's `_static` folder: NLTK and tiktoken data, shipped in the wheel.
    Found without importing llama-index (48 MiB of a replica's memory)."""
    import importlib.util

    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("llama-index-core is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "_static"


def use_bundled_tiktoken() -> None:
    """Point tiktoken at the bundled encodings (before any tiktoken use): no download."""
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(bundled_data_dir() / "tiktoken_cache"))


def _import_nltk() -> None:
    """Import NLTK without the optional libraries its package imports for features newsdesk
    does not use (scipy, scikit-learn, pandas: 90 of the 105 MiB `import nltk` costs, in
    every process that stems or splits sentences). NLTK catches their ImportError; the
    libraries stay importable for any other code."""
    import importlib
    import sys

    if "nltk" in sys.modules:
        return
    blocked = _Refuse({"scipy", "sklearn", "pandas"} - set(sys.modules))
    sys.meta_path.insert(0, blocked)
    try:
        importlib.import_module("nltk")
    finally:
        sys.meta_path.remove(blocked)


class _Refuse:
    """An import finder that refuses some top-level packages (while NLTK imports)."""

    def __init__(self, names: set[str]):
        self.names = names

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.split(".")[0] in self.names:
            raise ImportError(f"{name} is not imported here")
        return None


@lru_cache(maxsize=1)
def _punkt():
    _import_nltk()
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    cache = str(bundled_data_dir() / "nltk_cache")
    if cache not in nltk.data.path:
        nltk.data.path.append(cache)
    return PunktTokenizer("english")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace excluded, in order. Punkt is applied per
    line, so headlines and datelines stay sentences of their own."""
    return list(_sentence_spans(text))


# Remembered: the same chunks and passages come back question after question, and each is cut
# for its quotable sentences and for its stored sentence rows (a few KiB an entry at most).
@lru_cache(maxsize=4_096)
def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    tokenizer = _punkt()
    for line in re.finditer(r"[^\n]+", text):
        offset = line.start()
        for start, end in tokenizer.span_tokenize(line.group()):
            start, end = start + offset, end + offset
            if end > start and (not spans or start >= spans[-1][1]):
                spans.append((start, end))
    return tuple(spans)


_TOKEN = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    path = bundled_data_dir() / "nltk_cache/corpora/stopwords/english"
    return frozenset(path.read_text(encoding="utf-8").split())


@lru_cache(maxsize=1)
def _stemmer():
    _import_nltk()
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, English stopwords dropped, Snowball-stemmed."""
    stop = stopwords()
    return [_stem(w) for w in _TOKEN.findall(text.lower()) if w not in stop]


# -- shingles (near-duplicate text) ----------------------------------------------------------

_SHINGLE_WORD = re.compile(r"\w+")
_word_ids: dict[str, int] = {}


def _word_id(word: str) -> int:
    found = _word_ids.get(word)
    if found is None:
        if len(_word_ids) > 200_000:
            _word_ids.clear()
        found = _word_ids[word] = zlib.crc32(word.encode("utf-8"))
    return found


def shingles(text: str, n: int = 5) -> frozenset[int]:
    """Hashes of the text's word n-grams, the same in every process (a word is its CRC-32,
    an n-gram the hash of a tuple of ints, which Python does not randomise), so a lexical
    index can store a chunk's sample once and queries compare it with fresh ones."""
    words = [_word_id(w) for w in _SHINGLE_WORD.findall(text.lower())]
    if len(words) < n:
        return frozenset([hash(tuple(words))]) if words else frozenset()
    # zip over n shifted views builds the same n-grams as slicing, in C.
    return frozenset(map(hash, zip(*(words[i:] for i in range(n)), strict=False)))


def shingle_sample(text: str) -> frozenset[int]:
    """About one shingle in eight (those whose hash is 0 mod 8; all of them for short
    texts): near-duplicates share many of these, unrelated passages almost never do."""
    sig = shingles(text)
    return sig if len(sig) < 64 else frozenset(h for h in sig if h % 8 == 0)
