import numpy as np
import pytest

from service.index import sentence_vectors


def test_int8_storage_keeps_each_sentence_cosine_within_a_thousandth(embedder):
    sentences = ["Nvidia lost $589 billion of market value on Monday.",
                 "The Port Alder terminal handled 19 percent fewer containers.",
                 "Shares recovered half the loss by Friday's close."]
    vectors = embedder.embed(sentences)
    question = embedder.embed(["How much value did Nvidia lose?"])[0]
    blob = sentence_vectors.encode(vectors)
    restored = sentence_vectors.decode(blob, vectors.shape[1])
    assert restored.shape == vectors.shape
    assert np.allclose(restored @ question, vectors @ question, atol=1e-3)
    assert len(blob) == len(sentences) * vectors.shape[1] * 4 // 3  # 384 int8 bytes a sentence, base64
    assert sentence_vectors.best_cosine(question, blob) == pytest.approx(float(np.max(vectors @ question)), abs=1e-3)


def test_a_blob_of_another_width_is_refused():
    blob = sentence_vectors.encode(np.eye(3, 384, dtype=np.float32))
    with pytest.raises(ValueError, match="rows of 100"):
        sentence_vectors.decode(blob, 100)


def test_sentences_are_the_chunks_own_and_a_chunk_without_any_is_one():
    text = "PORT ALDER — The terminal lost its biggest client.\nShares fell 4%. Analysts were surprised."
    assert sentence_vectors.sentences_of(text) == [
        "PORT ALDER — The terminal lost its biggest client.", "Shares fell 4%.", "Analysts were surprised."]
    assert sentence_vectors.sentences_of("   ") == ["   "]
