import numpy as np
import pytest

from service.index import sentence_vectors


def test_4bit_storage_keeps_each_cosine_within_three_hundredths(embedder):
    sentences = ["Nvidia lost $589 billion of market value on Monday.",
                 "The Port Alder terminal handled 19 percent fewer containers.",
                 "Shares recovered half the loss by Friday's close."]
    chunk = embedder.embed([" ".join(sentences)])[0]
    vectors = embedder.embed(sentences)
    question = embedder.embed(["How much value did Nvidia lose?"])[0]
    blob = sentence_vectors.encode(chunk, vectors)
    restored = sentence_vectors.decode(blob, vectors.shape[1])
    assert restored.shape == (1 + len(sentences), vectors.shape[1])
    assert np.allclose(restored @ question, np.vstack([chunk, vectors]) @ question, atol=0.03)
    assert len(blob) == (1 + len(sentences)) * vectors.shape[1] // 2 * 4 // 3  # 192 bytes a row (two 4-bit codes a byte), base64
    other = sentence_vectors.encode(vectors[0], vectors[1:])
    assert np.array_equal(sentence_vectors.decode(sentence_vectors.to_bytes(blob), vectors.shape[1]), restored)
    (chunk_cos, best), (other_chunk, other_best) = sentence_vectors.cosines(
        question, [sentence_vectors.to_bytes(blob), sentence_vectors.to_bytes(other)])
    assert chunk_cos == pytest.approx(float(chunk @ question), abs=0.03)
    assert best == pytest.approx(float(np.max(vectors @ question)), abs=0.03)
    assert other_chunk == pytest.approx(float(vectors[0] @ question), abs=0.03)
    assert other_best == pytest.approx(float(np.max(vectors[1:] @ question)), abs=0.03)
    assert sentence_vectors.cosines(question, []) == []


def test_a_blob_of_another_width_is_refused():
    blob = sentence_vectors.encode(np.eye(1, 384, dtype=np.float32)[0], np.eye(3, 384, dtype=np.float32))
    with pytest.raises(ValueError, match="rows of 100"):
        sentence_vectors.decode(blob, 100)


def test_sentences_are_the_chunks_own_and_a_chunk_without_any_is_one():
    text = "PORT ALDER — The terminal lost its biggest client.\nShares fell 4%. Analysts were surprised."
    assert sentence_vectors.sentences_of(text) == [
        "PORT ALDER — The terminal lost its biggest client.", "Shares fell 4%.", "Analysts were surprised."]
    assert sentence_vectors.sentences_of("   ") == ["   "]


def test_an_odd_width_round_trips():
    rows = np.array([[0.6, -0.8, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]], dtype=np.float32)
    restored = sentence_vectors.decode(sentence_vectors.encode(rows[0], rows[1:]), 5)
    assert restored.shape == (2, 5) and np.allclose(np.sum(restored * rows, axis=1), 1.0, atol=0.03)
