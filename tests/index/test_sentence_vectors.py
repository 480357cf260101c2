import numpy as np
import pytest

from service.index import sentence_vectors
from service.models import ChunkVectors


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


def test_row_spans_are_the_spans_of_the_stored_sentences():
    text = "PORT ALDER — The terminal lost its biggest client.\nShares fell 4%. Analysts were surprised."
    assert [text[s:e] for s, e in sentence_vectors.row_spans(text)] == sentence_vectors.sentences_of(text)
    assert sentence_vectors.row_spans("   ") == [(0, 3)]


STORY = ("Nvidia lost $589 billion of market value on Monday, the largest one-day loss in history. "
         "The Port Alder terminal handled 19 percent fewer containers in March.\n"
         "Shares recovered half the loss by Friday's close. Regulators opened an inquiry into the outage.")


def test_one_pass_gives_a_row_per_sentence_close_to_the_sentence_embedded_alone(embedder):
    own, per_chunk = sentence_vectors.embed_chunks(embedder, [STORY, "No sentence break here"], source=ChunkVectors.POOLED)
    sentences = sentence_vectors.sentences_of(STORY)
    assert own.shape == (2, 384) and [r.shape[0] for r in per_chunk] == [len(sentences), 1]
    assert np.allclose(own, embedder.embed([STORY, "No sentence break here"]), atol=1e-5)
    alone = np.diag(per_chunk[0] @ embedder.embed(sentences).T)
    # A sentence read in its chunk's context is not the sentence read alone. SciFact's 51,679
    # sentences: cosine 0.77 on average, 0.49 at the 5th percentile (sentence_vectors' notes).
    assert np.all(alone > 0.45) and alone.mean() > 0.6


def test_sentences_past_the_models_window_are_embedded_alone(embedder):
    text = " ".join(f"Sentence number {i} names the figure {i * 7}." for i in range(60))  # ~600 tokens
    _, (rows,) = sentence_vectors.embed_chunks(embedder, [text], source=ChunkVectors.POOLED)
    sentences = sentence_vectors.sentences_of(text)
    assert rows.shape == (len(sentences), 384) and np.all(np.abs(np.linalg.norm(rows, axis=1) - 1) < 1e-4)
    assert np.allclose(rows[-1], embedder.embed([sentences[-1]])[0], atol=1e-5)


def test_an_embedder_without_token_outputs_makes_the_chunks_vector_from_its_sentences():
    class Plain:  # OpenAI's shape: texts in, rows out
        calls: list[list[str]] = []

        def embed(self, texts):
            self.calls.append(list(texts))
            return np.eye(len(texts), 8, dtype=np.float32)

        def count_tokens(self, texts):
            return [len(t.split()) for t in texts]

    plain = Plain()
    own, (rows,) = sentence_vectors.embed_chunks(plain, ["One. Two three."], source=ChunkVectors.POOLED)
    assert plain.calls == [["One.", "Two three."]] and rows.shape == (2, 8)
    # the mean of the sentences' rows, weighted by their tokens (1 and 2), made unit
    assert np.allclose(own[0], np.array([1, 2, 0, 0, 0, 0, 0, 0]) / np.sqrt(5))


def test_sentences_read_each_distinct_sentence_once_and_the_chunk_is_their_mean(embedder):
    shared = "Shares recovered half the loss by Friday's close."
    first = f"Nvidia lost $589 billion of market value on Monday. {shared}"
    second = f"{shared} Regulators opened an inquiry into the outage."  # the overlap of two chunks
    before = embedder.tokens_read
    own, (rows_a, rows_b) = sentence_vectors.embed_chunks(embedder, [first, second])
    distinct = ["Nvidia lost $589 billion of market value on Monday.", shared,
                "Regulators opened an inquiry into the outage."]
    assert embedder.tokens_read - before == sum(n + 2 for n in embedder.count_tokens(distinct))  # [CLS], [SEP]
    alone = embedder.embed(distinct)
    assert np.allclose(rows_a, alone[:2], atol=1e-5) and np.allclose(rows_b, alone[1:], atol=1e-5)
    weights = np.asarray(embedder.count_tokens(distinct), dtype=np.float32)
    mean = weights[:2] @ alone[:2]
    assert np.allclose(own[0], mean / np.linalg.norm(mean), atol=1e-5)
    # the mean stands for the chunk: close to the chunk embedded whole, and nearer its own text
    whole = embedder.embed([first, second])
    assert np.all(np.diag(own @ whole.T) > 0.85) and list(np.argmax(own @ whole.T, axis=1)) == [0, 1]


def test_separate_embeds_the_chunk_and_its_sentences_apart(embedder):
    before = embedder.tokens_read
    own, (rows,) = sentence_vectors.embed_chunks(embedder, [STORY], source=ChunkVectors.SEPARATE)
    read = embedder.tokens_read - before
    sentences = sentence_vectors.sentences_of(STORY)
    assert read == sum(n + 2 for n in embedder.count_tokens([STORY, *sentences]))  # every token twice
    assert np.allclose(own, embedder.embed([STORY]), atol=1e-5)
    assert np.allclose(rows, embedder.embed(sentences), atol=1e-5)
