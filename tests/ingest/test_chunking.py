from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.ingest.chunking import Chunker, approximate_token_counts, segment_text
from service.text import sentence_spans

ARTICLE = (
    "Microsoft trains MAI\n\nPublished On Mon Mar 10 2025\n\n"
    "Microsoft has been training a model called MAI. It hopes MAI will rival GPT-4. "
    "The work has faced setbacks.\n\nSatya Nadella said the partnership with OpenAI continues. "
    "Analysts were not convinced. Some expect an API later this year."
)


def assert_invariants(text, chunks):
    if not text:
        assert chunks == []
        return
    assert chunks[0].char_start == 0
    assert chunks[-1].char_end == len(text)
    for i, chunk in enumerate(chunks):
        assert chunk.chunk_index == i
        assert text[chunk.char_start:chunk.char_end] == chunk.text
        assert chunk.char_end > chunk.char_start
        if i:
            prev = chunks[i - 1]
            assert prev.char_start < chunk.char_start <= prev.char_end  # forward, no gap


text_strategy = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=1500
) | st.lists(
    st.sampled_from(["Hello world.", "Dr. Smith went home!", "\n\n", " ", "GPT-4o costs $5.", "Ünïcode — ok?", "\t", "a" * 40]),
    max_size=80,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=text_strategy, size=st.integers(2, 60), overlap_frac=st.floats(0, 0.9))
def test_chunks_are_exact_slices_that_cover_the_text(text, size, overlap_frac):
    chunker = Chunker(size=size, overlap=int(size * overlap_frac))
    assert_invariants(text, chunker.chunk("a", text))


@settings(max_examples=100, deadline=None)
@given(text=text_strategy)
def test_segments_partition_the_text(text):
    segments = segment_text(text)
    if text:
        assert segments[0][0] == 0 and segments[-1][1] == len(text)
        assert all(a[1] == b[0] for a, b in zip(segments, segments[1:]))


def test_chunks_respect_size_and_keep_sentences_whole():
    chunker = Chunker(size=30, overlap=8)
    chunks = chunker.chunk("a", ARTICLE)
    assert len(chunks) > 1
    assert_invariants(ARTICLE, chunks)
    sentence_starts = {s for s, _ in sentence_spans(ARTICLE)} | {0}
    for chunk in chunks:
        assert approximate_token_counts([chunk.text])[0] <= 30
        assert chunk.char_start in sentence_starts  # chunks start on sentence boundaries


def test_overlap_repeats_trailing_sentences():
    chunks = Chunker(size=30, overlap=12).chunk("a", ARTICLE)
    overlaps = [prev.char_end - nxt.char_start for prev, nxt in zip(chunks, chunks[1:])]
    assert any(o > 0 for o in overlaps)


def test_headline_and_dateline_are_sentences_of_their_own():
    spans = [ARTICLE[s:e] for s, e in sentence_spans(ARTICLE)]
    assert spans[0] == "Microsoft trains MAI"
    assert spans[1] == "Published On Mon Mar 10 2025"


def test_a_sentence_longer_than_the_chunk_is_cut_at_spaces():
    text = " ".join(f"word{i}" for i in range(100)) + "."
    chunks = Chunker(size=20, overlap=0).chunk("a", text)
    assert len(chunks) >= 5
    assert_invariants(text, chunks)


def test_identical_passages_keep_their_own_offsets():
    paragraph = "The same wire paragraph appears twice. It has two sentences."
    text = paragraph + "\n\n" + paragraph
    chunks = Chunker(size=12, overlap=0).chunk("a", text)
    assert_invariants(text, chunks)
    assert chunks[-1].char_end == len(text)


def test_counts_tokens_with_the_embedder(embedder):
    chunker = Chunker(size=40, overlap=10, count_tokens=embedder.count_tokens)
    chunks = chunker.chunk("a", ARTICLE * 3)
    assert_invariants(ARTICLE * 3, chunks)
    assert max(embedder.count_tokens([c.text for c in chunks])) <= 40
    # each chunk carries its count, the one the embedder gives its text (retrieval's budget reads it)
    assert [c.tokens for c in chunks] == embedder.count_tokens([c.text for c in chunks])
