"""The Chroma connection (embedded, or a `chroma run` server with every call bounded in
time) and the record collections that processes share: documents and metadata, no vectors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.errors import StoreUnavailableError


def open_client(*, index_dir: Path, host: str | None = None, port: int = 8000, ssl: bool = False,
                timeout_s: float = 10.0):
    """An embedded PersistentClient under `index_dir`, or an HttpClient when a host is set.

    chromadb 1.5's HttpClient has no timeout setting (its httpx session is built with
    `timeout=None`), so a stopped server would hang every caller. Here each of its calls is
    bounded by `timeout_s`, and a call that times out or cannot connect raises
    `StoreUnavailableError` (503 over HTTP) naming the server, whichever method made it."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    where = f"{host}:{port}" if host else str(index_dir)
    try:
        if host:
            # The constructor already talks to the server, before a timeout can be set.
            client = _within(timeout_s, where, lambda: chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings))
            _bound_http_calls(client, timeout_s, where)
            return client
        index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(index_dir), settings=settings)
    except StoreUnavailableError:
        raise
    except Exception as exc:  # chromadb raises ValueError/ConnectionError/its own types
        raise StoreUnavailableError(f"cannot open the Chroma store at {where}: {exc}") from exc


def _within(timeout_s: float, where: str, build):
    """`build()`, or StoreUnavailableError when it has not returned after `timeout_s`
    (it runs on a daemon thread, so a hung one cannot keep the process alive)."""
    import threading

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = build()
        except Exception as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="chroma-connect", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise StoreUnavailableError(f"the Chroma server at {where} did not answer within {timeout_s:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _bound_http_calls(client, timeout_s: float, where: str) -> None:
    """Each call waits at most `timeout_s`. After a call times out, the next ones fail at once
    for `timeout_s` more, so a request that makes several calls (key check, change feed,
    query) waits one timeout, not one per call, and threads do not pile up behind a stopped
    server; after that the calls go through again, so recovery needs no restart."""
    import time

    import httpx

    server = client._server  # chromadb.api.fastapi.FastAPI: every call goes through its _make_request
    server._session.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
    make_request = server._make_request
    silent = {"since": float("-inf")}

    def bounded(method: str, path: str, **kwargs: Any) -> Any:
        ago = time.monotonic() - silent["since"]
        if ago < timeout_s:
            raise StoreUnavailableError(f"the Chroma server at {where} did not answer within {timeout_s:g} s "
                                        f"{ago:.1f} s ago; calls fail at once until {timeout_s:g} s have passed")
        try:
            return make_request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            silent["since"] = time.monotonic()
            raise StoreUnavailableError(f"the Chroma server at {where} did not answer within {timeout_s:g} s "
                                        f"({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise StoreUnavailableError(f"cannot reach the Chroma server at {where}: {type(exc).__name__}") from exc

    server._make_request = bounded


class VectorsGiven:
    """Chroma's embedding-function slot. newsdesk always passes vectors itself; this keeps
    Chroma from falling back to its default function, which downloads a model."""

    def __init__(self, model_id: str = "newsdesk"):
        self.model_id = model_id

    def __call__(self, input: Sequence[str]):  # noqa: A002 - Chroma's protocol name
        raise RuntimeError("newsdesk passes embeddings explicitly; Chroma must not embed")

    @staticmethod
    def name() -> str:
        return "newsdesk"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> VectorsGiven:
        return VectorsGiven()

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    def embed_query(self, input):  # noqa: A002
        return self(input)


NO_VECTOR = [1.0]  # the trivial embedding of a record collection's entries


def open_records(client, name: str, purpose: str):
    """A collection of records shared by every process (Slack claims and threads, feedback,
    keys, feed state): documents and metadata only, each entry embedded as `NO_VECTOR`."""
    try:
        return client.get_or_create_collection(name, embedding_function=VectorsGiven(), metadata={"purpose": purpose})
    except Exception as exc:  # chromadb raises its own types and plain ValueErrors
        raise StoreUnavailableError(f"cannot open collection {name!r}: {exc}") from exc


def update_metadata(collection, changes: dict[str, Any]) -> None:
    """Set `changes` in a collection's metadata, keeping its other keys: `modify(metadata=)`
    replaces the whole mapping, and Chroma refuses the legacy "hnsw:*" keys in it."""
    kept = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
    collection.modify(metadata={**kept, **changes})


@contextmanager
def store_errors(doing: str) -> Iterator[None]:
    """Chroma's failures inside the block (its own types and plain ValueErrors) raised as one
    `StoreUnavailableError` saying what was being done ("writing to collection 'x'")."""
    try:
        yield
    except StoreUnavailableError:
        raise
    except Exception as exc:
        raise StoreUnavailableError(f"{doing} failed: {exc}") from exc


def existing_records(client, name: str):
    """The record collection `name`, or None when nobody has written one yet."""
    try:
        return client.get_collection(name, embedding_function=VectorsGiven())
    except Exception:
        return None
