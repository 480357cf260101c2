"""API keys: shown once when created, stored only as hashes, shared by every replica.

A key is `nd_` followed by 43 URL-safe characters (256 random bits). Its SHA-256 is the
record id in a record collection of the Chroma store (`open_records`), so every process on
the same store sees the same keys; the key itself is kept nowhere. A plain hash suffices:
a random 256-bit key leaves nothing to guess, unlike a password.

Each record carries the key's name, its scopes (`ask`, `write`, `admin`), the collections it
may use (none = all), an optional rate limit of its own and, once revoked, when. A replica
trusts what it read about a key for `ttl_s` seconds (at most 5), so a revocation on one
replica is refused by all of them within that time; the cache also spares the store a read
per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cachetools import TTLCache

from service.errors import ApiKeyError, KeyNotFoundError, StoreUnavailableError
from service.index.client import NO_VECTOR, VectorsGiven, open_records

SCOPES = ("ask", "write", "admin")
KEY_PREFIX = "nd_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Chroma's own rule for collection names: 3-512 of [a-zA-Z0-9._-], alphanumeric at both ends.
COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """What the store knows about a key; safe to show and to log (it holds no secret)."""

    key_id: str  # the first 12 hex digits of the hash
    name: str
    scopes: frozenset[str]
    collections: tuple[str, ...]  # empty: every collection
    created_at: str
    revoked_at: str | None = None
    rate_limit: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def sees(self, collection: str) -> bool:
        return not self.collections or collection in self.collections

    def to_dict(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "name": self.name, "scopes": sorted(self.scopes),
                "collections": list(self.collections), "created_at": self.created_at,
                "revoked_at": self.revoked_at, "rate_limit": self.rate_limit}


def _record(key: ApiKey) -> dict[str, Any]:
    return {"name": key.name, "scopes": ",".join(sorted(key.scopes)), "collections": ",".join(key.collections),
            "created_at": key.created_at, "revoked_at": key.revoked_at or "", "rate_limit": key.rate_limit or ""}


def _from_record(record_id: str, meta: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=record_id[:12], name=meta.get("name", ""),
        scopes=frozenset(s for s in str(meta.get("scopes", "")).split(",") if s),
        collections=tuple(c for c in str(meta.get("collections", "")).split(",") if c),
        created_at=meta.get("created_at", ""), revoked_at=meta.get("revoked_at") or None,
        rate_limit=meta.get("rate_limit") or None,
    )


def parse_list(value: str | Iterable[str] | None) -> list[str]:
    """`"ask, write"` or `["ask", "write"]` -> `["ask", "write"]` (order kept, no repeats)."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return list(dict.fromkeys(i.strip() for i in items if i and i.strip()))


def check_spec(name: str, scopes: Iterable[str], collections: Iterable[str]) -> None:
    if not _NAME.match(name or ""):
        raise ApiKeyError(f"key name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    scopes = list(scopes)
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes or unknown:
        raise ApiKeyError(f"scopes must be some of {', '.join(SCOPES)}" + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    for collection in collections:
        if not COLLECTION_NAME.match(collection):
            raise ApiKeyError(f"collection name {collection!r}: use 3-512 letters, digits, '.', '_' or '-', "
                              "starting and ending with a letter or digit")


class KeyStore:
    def __init__(self, client, collection: str = "newsdesk-keys", *, ttl_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, cache_size: int = 10_000):
        self.client = client
        self.collection = collection
        self.ttl_s = ttl_s
        # What was read about each key (None: no active key has that hash; unknown keys are
        # cached too, and `cache_size` bounds what a flood of them holds: the least recently used
        # goes first), and whether any key is active. An entry stored at t (when its read
        # returned) is trusted while clock() < t + ttl_s.
        self._cache: TTLCache[str, ApiKey | None] = TTLCache(maxsize=cache_size, ttl=ttl_s, timer=clock)
        self._any: TTLCache[str, bool] = TTLCache(maxsize=1, ttl=ttl_s, timer=clock)
        self._lock = threading.Lock()  # TTLCache is not thread-safe

    # -- writes (the CLI, the admin routes) --------------------------------------------------

    def create(self, name: str, scopes: Iterable[str], collections: Iterable[str] = (),
               rate_limit: str | None = None) -> tuple[str, ApiKey]:
        """A new key and its record. The key is returned here and never again."""
        scopes, collections = parse_list(scopes), parse_list(collections)
        check_spec(name, scopes, collections)
        if any(k.name == name and k.active for k in self.list()):
            raise ApiKeyError(f"an active key named {name!r} exists already: revoke it or choose another name")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        return key, self._add(hash_key(key), name, scopes, collections, rate_limit)

    def ensure(self, key: str, name: str, scopes: Iterable[str]) -> ApiKey:
        """Register a key chosen elsewhere (a deployment's bootstrap key), once: a record
        that exists already, revoked or not, is left as it is."""
        if len(key) < 32:
            raise ApiKeyError(f"the key for {name!r} is too short: use at least 32 random characters")
        digest = hash_key(key)
        found = self._records().get(ids=[digest], include=["metadatas"])
        if found["ids"]:
            return _from_record(digest, found["metadatas"][0])
        scopes = parse_list(scopes)
        check_spec(name, scopes, ())
        return self._add(digest, name, scopes, [], None)

    def _add(self, digest: str, name: str, scopes: list[str], collections: list[str], rate_limit: str | None) -> ApiKey:
        record = ApiKey(key_id=digest[:12], name=name, scopes=frozenset(scopes), collections=tuple(collections),
                        created_at=_now(), rate_limit=rate_limit or None)
        self._records().add(ids=[digest], embeddings=[NO_VECTOR], documents=[""], metadatas=[_record(record)])
        self._forget()
        return record

    def revoke(self, name_or_id: str) -> list[ApiKey]:
        """Revoke the active keys with this name or key id; the revoked records stay listed."""
        records = self._records()
        found = records.get(include=["metadatas"])
        hits = [(rid, meta) for rid, meta in zip(found["ids"], found["metadatas"], strict=True)
                if not meta.get("revoked_at") and name_or_id in (meta.get("name"), rid[:12])]
        if not hits:
            raise KeyNotFoundError(f"no active key named {name_or_id!r} or with that key id (see `newsdesk keys list`)")
        now = _now()
        records.update(ids=[rid for rid, _ in hits], metadatas=[{**meta, "revoked_at": now} for _, meta in hits])
        self._forget()
        return [_from_record(rid, {**meta, "revoked_at": now}) for rid, meta in hits]

    def list(self) -> list[ApiKey]:
        records = self._existing()
        if records is None:
            return []
        found = self._read(lambda: records.get(include=["metadatas"]))
        keys = [_from_record(rid, meta) for rid, meta in zip(found["ids"], found["metadatas"], strict=True)]
        return sorted(keys, key=lambda k: (k.created_at, k.name))

    # -- reads (every authenticated request) ---------------------------------------------------

    def cached(self, key: str) -> tuple[bool, ApiKey | None]:
        """(True, what `verify` would return) when that is known without reading the store."""
        if not key.startswith(KEY_PREFIX) and len(key) < 32:
            return True, None
        # One lookup, not `in` then `[]`: an entry may expire between the two.
        try:
            with self._lock:
                return True, self._cache[hash_key(key)]
        except KeyError:
            return False, None

    def verify(self, key: str) -> ApiKey | None:
        """The active key record for this key, or None; at most `ttl_s` old."""
        known, record = self.cached(key)
        if known:
            return record
        digest = hash_key(key)
        records = self._existing()
        found = self._read(lambda: records.get(ids=[digest], include=["metadatas"])) if records is not None else {"ids": []}
        key_record = _from_record(digest, found["metadatas"][0]) if found["ids"] else None
        if key_record is not None and not key_record.active:
            key_record = None
        with self._lock:
            self._cache[digest] = key_record
        return key_record

    def cached_any(self) -> bool | None:
        """`any_active()` when that is known without reading the store, else None."""
        try:
            with self._lock:
                return self._any["any"]
        except KeyError:
            return None

    def any_active(self) -> bool:
        """Whether at least one key is active (a loopback server without keys stays open)."""
        known = self.cached_any()
        if known is not None:
            return known
        answer = any(k.active for k in self.list())
        with self._lock:
            self._any["any"] = answer
        return answer

    def _existing(self):
        """The key collection, or None when no key was ever created. An unreachable store is
        an error, never "no keys": that would turn a loopback server open, or refuse good keys."""
        from chromadb.errors import NotFoundError

        try:
            return self.client.get_collection(self.collection, embedding_function=VectorsGiven())
        except NotFoundError:
            return None
        except StoreUnavailableError:
            raise
        except Exception as exc:  # chromadb's own types, ValueError, connection errors
            raise StoreUnavailableError(f"cannot read the API keys in {self.collection!r}: {type(exc).__name__}") from exc

    def _read(self, call):
        try:
            return call()
        except StoreUnavailableError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(f"cannot read the API keys in {self.collection!r}: {type(exc).__name__}") from exc

    def _records(self):
        return open_records(self.client, self.collection, "api keys (sha256 of each key, never the key)")

    def _forget(self) -> None:
        with self._lock:
            self._cache.clear()
            self._any.clear()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
