"""Our chunker against llama-index's SentenceSplitter, side by side on the same texts, the
same token counter (the embedder's tokenizer) and the same sizes (200 tokens, 40 overlap):

    python -m service.evals.chunkers [--scifact DIR] [--limit N]

For each chunker and corpus it prints the chunks made, how many have exact offsets
(`text[start:end] == chunk text`), how many sit at the wrong place (a chunk that starts
before the one before it: an offset found by searching the text lands on an earlier copy of
a repeated passage), the characters no chunk covers, and the time taken. The corpora: the
sample corpus as shipped; the same articles with repeated passages (a newsletter line after
every second paragraph, the lead restated at the end) and with each story twice (a page
carrying a teaser and the story, a wire copy pasted twice), as real pages have them; and
SciFact abstracts, for speed. `max tokens` is the largest chunk in the embedder's tokens
(its window is 256: beyond it, text is cut off before it is embedded).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from service.config import DEFAULT_CORPUS_DIR
from service.ingest.chunking import Chunker
from service.ingest.loading import load_paths

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode

BOILERPLATE = "Sign up for our newsletter to get the day's top stories in your inbox every morning."
Span = tuple[int | None, int | None, str]


def with_repeats(text: str) -> str:
    paragraphs = text.split("\n\n")
    out: list[str] = []
    for i, paragraph in enumerate(paragraphs, start=1):
        out.append(paragraph)
        if i % 2 == 0:
            out.append(BOILERPLATE)
    out.append(paragraphs[1] if len(paragraphs) > 1 else paragraphs[0])
    return "\n\n".join(out)


def ours(count_tokens) -> Callable[[str], list[Span]]:
    chunker = Chunker(200, 40, count_tokens)
    return lambda text: [(c.char_start, c.char_end, c.text) for c in chunker.chunk("x", text)]


def sentence_splitter(count_tokens) -> Callable[[str], list[Span]]:
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=200, chunk_overlap=40, tokenizer=lambda s: range(count_tokens([s])[0]))
    return lambda text: text_spans(splitter.get_nodes_from_documents([Document(text=text)]))


def text_spans(nodes: Sequence[BaseNode]) -> list[Span]:
    """The offsets and text of llama-index nodes; only a TextNode has offsets, and the
    SentenceSplitter makes nothing else from a Document."""
    from llama_index.core.schema import TextNode

    spans: list[Span] = []
    for node in nodes:
        if not isinstance(node, TextNode):
            raise TypeError(f"the splitter made a {type(node).__name__}, which has no offsets")
        spans.append((node.start_char_idx, node.end_char_idx, node.get_content()))
    return spans


def measure(split: Callable[[str], list[Span]], texts: list[str], count_tokens) -> dict[str, float]:
    started = time.perf_counter()
    results = [split(t) for t in texts]
    seconds = time.perf_counter() - started
    chunks = exact = misplaced = uncovered = 0
    sizes = count_tokens([chunk for spans in results for _, _, chunk in spans])
    for text, spans in zip(texts, results, strict=True):
        covered = bytearray(len(text))
        previous = -1
        for start, end, chunk in spans:
            chunks += 1
            if start is None or end is None:
                misplaced += 1
                continue
            exact += text[start:end] == chunk
            misplaced += start < previous
            previous = start
            covered[start:end] = b"\x01" * (end - start)
        uncovered += sum(1 for ch, c in zip(text, covered, strict=True) if not c and not ch.isspace())
    return {"chunks": chunks, "exact": exact, "misplaced": misplaced, "uncovered_chars": uncovered,
            "max_tokens": max(sizes, default=0), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.evals.chunkers")
    parser.add_argument("--scifact", type=Path, default=Path("../shared/benchmarks/scifact"))
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    from service.index.embedding import OnnxEmbedder
    from service.text import use_bundled_tiktoken

    use_bundled_tiktoken()
    count_tokens = OnnxEmbedder().count_tokens
    sample = [a.text for a in load_paths([DEFAULT_CORPUS_DIR]).articles]
    corpora = {"sample corpus": sample, "with repeated passages": [with_repeats(t) for t in sample],
               "each story twice": [f"{t}\n\n{t}" for t in sample]}
    corpus_file = args.scifact / "corpus.jsonl"
    if corpus_file.exists():
        with corpus_file.open(encoding="utf-8") as lines:
            docs = [json.loads(line) for _, line in zip(range(args.limit), lines, strict=False)]
        corpora[f"SciFact ({len(docs)} abstracts)"] = [f"{d.get('title', '')}\n\n{d['text']}" for d in docs]
    chunkers = {"newsdesk Chunker": ours(count_tokens), "llama-index SentenceSplitter": sentence_splitter(count_tokens)}
    print(f"{'corpus':28} {'chunker':30} {'chunks':>7} {'exact':>7} {'misplaced':>9} {'uncovered':>9} "
          f"{'max tokens':>10} {'seconds':>8}")
    for corpus, texts in corpora.items():
        for name, split in chunkers.items():
            split(texts[0])  # warm-up: imports, Punkt, caches
            m = measure(split, texts, count_tokens)
            print(f"{corpus:28} {name:30} {m['chunks']:>7} {m['exact']:>7} {m['misplaced']:>9} "
                  f"{m['uncovered_chars']:>9} {m['max_tokens']:>10} {m['seconds']:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
