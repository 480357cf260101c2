"""Text primitives shared by every stage: sentence spans, lexical tokens, and the data
files llama-index-core bundles (NLTK's Punkt and stopwords, tiktoken's encodings), found in
one place so no other module knows llama-index's private `_static` layout."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def bundled_data_dir() -> Path:
    """llama-index-core's `_static` folder: NLTK and tiktoken data, shipped in the wheel."""
    import llama_index.core

    return Path(llama_index.core.__file__).parent / "_static"


def use_bundled_tiktoken() -> None:
    """Point tiktoken at the bundled encodings (before any tiktoken use): no download."""
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(bundled_data_dir() / "tiktoken_cache"))


@lru_cache(maxsize=1)
def _punkt():
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    cache = str(bundled_data_dir() / "nltk_cache")
    if cache not in nltk.data.path:
        nltk.data.path.append(cache)
    return PunktTokenizer("english")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace excluded, in order. Punkt is applied per
    line, so headlines and datelines stay sentences of their own."""
    spans: list[tuple[int, int]] = []
    tokenizer = _punkt()
    for line in re.finditer(r"[^\n]+", text):
        offset = line.start()
        for start, end in tokenizer.span_tokenize(line.group()):
            start, end = start + offset, end + offset
            if end > start and (not spans or start >= spans[-1][1]):
                spans.append((start, end))
    return spans


_TOKEN = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    path = bundled_data_dir() / "nltk_cache/corpora/stopwords/english"
    return frozenset(path.read_text(encoding="utf-8").split())


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, English stopwords dropped, Snowball-stemmed."""
    stop = stopwords()
    return [_stem(w) for w in _TOKEN.findall(text.lower()) if w not in stop]
