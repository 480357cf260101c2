import json

import httpx
import numpy as np
import pytest

from service.errors import ConfigError, EmbedderError
from service.index.embedding import OnnxEmbedder, OpenAIEmbedder, default_onnx_paths


def test_vectors_match_the_reference_model(embedder):
    # Cosine similarities published for all-MiniLM-L6-v2 in the sentence-transformers docs
    # (fp32 PyTorch): the int8 ONNX model must land within 0.01 of them.
    v = embedder.embed([
        "A man is eating food.", "A man is eating a piece of bread.",
        "The new movie is awesome", "The new movie is so great",
    ])
    assert v.shape == (4, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert abs(float(v[0] @ v[1]) - 0.7553) < 0.01
    assert abs(float(v[2] @ v[3]) - 0.8939) < 0.01
    assert float(v[0] @ v[2]) < 0.1


def test_length_sorted_batches_match_one_by_one(embedder):
    texts = ["short", "a much longer sentence " * 12, "medium length text here", "x " * 100]
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_long_text_is_truncated_not_rejected(embedder):
    assert embedder.embed(["word " * 2000]).shape == (1, 384)
    assert embedder.count_tokens(["word " * 2000])[0] == 2000  # counting is not truncated


def test_sha256_is_verified(tmp_path):
    model, tokenizer = default_onnx_paths()
    fake = tmp_path / "model.onnx"
    fake.write_bytes(model.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ConfigError, match="sha256"):
        OnnxEmbedder(fake, tokenizer)


def embedding_response(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    data = [
        {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.0]}
        for i, t in enumerate(body["input"])
    ]
    return httpx.Response(200, json={
        "object": "list", "data": list(reversed(data)), "model": body["model"],
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    })


def openai_client(base="http://emb.test/v1"):
    import openai

    return openai.OpenAI(api_key="sk-test-secret", base_url=base, max_retries=0)


def test_openai_embeddings_in_real_shapes(respx_mock):
    route = respx_mock.post("http://emb.test/v1/embeddings").mock(side_effect=embedding_response)
    embedder = OpenAIEmbedder("text-embedding-3-small", openai_client(), batch_size=2)
    v = embedder.embed(["a", "bbb", "cc"])
    assert route.call_count == 2
    assert v.shape == (3, 3)
    expected = np.array([[1, 1, 0], [3, 1, 0], [2, 1, 0]], dtype=np.float32)
    assert np.allclose(v, expected / np.linalg.norm(expected, axis=1, keepdims=True))
    assert embedder.model_id == "openai:text-embedding-3-small" and embedder.dimension == 3
    assert embedder.count_tokens(["hello world"]) == [2]


def test_openai_embedding_errors_do_not_leak_the_key(respx_mock):
    respx_mock.post("http://emb.test/v1/embeddings").mock(return_value=httpx.Response(
        401, json={"error": {"message": "Incorrect API key provided: sk-test-secret", "type": "invalid_request_error"}}))
    with pytest.raises(EmbedderError) as caught:
        OpenAIEmbedder("text-embedding-3-small", openai_client()).embed(["a"])
    assert "sk-test-secret" not in str(caught.value)
    assert "HTTP 401" in str(caught.value)


def test_span_weights_average_the_tokens_that_start_inside_each_span():
    from service.index.embedding import span_weights

    # [CLS] "Hi" "." "Bye" "now" "." [SEP] over "Hi. Bye now."
    offsets = [(0, 0), (0, 2), (2, 3), (4, 7), (8, 11), (11, 12), (0, 0)]
    weights = span_weights(offsets, [(0, 3), (4, 12)])
    assert np.allclose(weights[0], 1 / 7)  # the whole text: every token, special ones too
    assert np.allclose(weights[1], [0, 0.5, 0.5, 0, 0, 0, 0])
    assert np.allclose(weights[2], [0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 0])
    assert not span_weights(offsets, [(20, 30)])[1].any()  # past the window: no token


def test_a_spans_vector_is_the_mean_of_its_token_outputs_from_the_texts_one_pass(embedder):
    text = "Nvidia lost $589 billion of market value on Monday. Shares recovered half the loss by Friday."
    spans = [(0, 51), (52, len(text))]
    rows = embedder.embed_spans([text], [spans])[0]
    assert rows.shape == (3, 384)
    assert np.array_equal(rows[0], embedder.embed([text])[0])  # the text's own, as `embed` makes it
    (_, encodings, hidden, mask), = list(embedder.token_outputs([text]))
    offsets = encodings[0].offsets
    for k, (start, end) in enumerate(spans):
        tokens = [t for t, (s, e) in enumerate(offsets) if e > s and start <= s < end]
        mean = hidden[0, tokens].mean(axis=0)
        assert np.allclose(rows[k + 1], mean / np.linalg.norm(mean), atol=1e-5)


def test_tokens_read_counts_what_the_model_reads(embedder):
    before = embedder.tokens_read
    embedder.embed(["one two", "word " * 1000])
    assert embedder.tokens_read - before == (2 + 2) + 256  # special tokens in, truncated at the window
