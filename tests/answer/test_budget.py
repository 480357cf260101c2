from service.answer.budget import TokenCounts
from service.models import ArticleRef, Passage


def test_token_counts_count_each_text_once_and_forget_the_least_recently_used():
    counted: list[str] = []

    def count(texts):
        counted.extend(texts)
        return [len(t.split()) for t in texts]

    counts = TokenCounts(count, maxsize=2)
    assert counts(["a b", "c", "a b"]) == [2, 1, 2]
    assert counts(["c", "a b"]) == [1, 2] and counted == ["a b", "c"]
    counts(["c"])  # "c" is now the most recently used: "a b" goes first
    assert counts(["d e f"]) == [3]
    assert counts.known("a b") is None and counts.known("c") == 1


def test_a_merged_passage_is_counted_from_its_chunks_less_their_overlap():
    from service.index.store import StoredChunk

    text = "One two. Three four. Five six."
    a = StoredChunk("x#0", text[:20], {"char_start": 0, "char_end": 20, "n_tokens": 4})
    b = StoredChunk("x#1", text[9:], {"char_start": 9, "char_end": len(text), "n_tokens": 4})
    merged = Passage(["x#0", "x#1"], ArticleRef("x"), text, 0, len(text))
    counts = TokenCounts(lambda texts: [len(t.split()) for t in texts])
    counts.remember([merged], {"x#0": a, "x#1": b})
    assert counts.known(text) == 6 == len(text.split())  # 4 + 4 less "Three four."
    assert counts.upper_bound([merged, Passage(["y#0"], ArticleRef("y"), "z", 0, 1)], chunk_tokens=10) == 16
