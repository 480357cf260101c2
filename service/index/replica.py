"""The lexical replica: this process's lexical index, kept in step with Chroma by the change feed.

Each replica keeps its own index directory (`lexical_dir`). Beside the index, `state.json`
records which Chroma collection it mirrors and its position in the change feed
(service/index/feed.py). A replica that opens a current index reads only the feed entries
after its position. A fresh one (or one whose collection was rebuilt) copies every chunk
once, then follows the feed from the position it read *before* copying, so nothing written
meanwhile is missed. Both write through `LexicalIndex.replace_articles`.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from service.index.lexical import HEAD_WEIGHT, LexicalIndex
from service.index.store import ArticleStore

logger = logging.getLogger("newsdesk.lexical")


class ReplicaState:
    """`state.json` in an index directory: the collection it mirrors and its feed position.
    Saved after the index commits: dying between the two re-applies entries, harmlessly."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / "state.json"
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}

    @property
    def position(self) -> int:
        return int(self.data.get("position", 0))

    @property
    def collection_id(self) -> str | None:
        return self.data.get("collection_id")

    def save(self, **changes: Any) -> None:
        self.data = {**self.data, **changes}
        tmp = self.path.with_name("state.json.tmp")
        tmp.write_text(json.dumps(self.data), encoding="utf-8")
        tmp.replace(self.path)


class LexicalReplica:
    """This process's lexical index, kept in step with the store through the change feed.

    `current()` reads the feed after the index's position, applies what changed, and returns
    the index. It reads the feed at most once per `follow_interval_s` (a query in between gets
    the index as it is), but at once after a write made in this process, so a replica always
    sees its own writes; 0 reads it on every call. Another process's write (a second replica,
    `newsdesk ingest` beside a running `newsdesk mcp`) is therefore seen by the first query
    that comes an interval after the last read. That read is one Chroma lookup of the next
    feed ids when nothing changed: 0.5 ms p50 on `bench query`'s collection, so it is made on
    the query's own thread. (A background reader was tried; it made the first question after
    another process's ingest miss what that ingest wrote, and saved nothing measurable.)"""

    def __init__(self, store: ArticleStore, directory: Path, *, head_weight: float = HEAD_WEIGHT,
                 follow_interval_s: float = 0.0):
        self.store = store
        self.directory = Path(directory)
        self.head_weight = head_weight
        self.follow_interval_s = follow_interval_s
        self._followed: tuple[float, int] | None = None  # (monotonic time, feed.appended_here())
        self._lock = threading.Lock()
        self._opened: tuple[LexicalIndex, ReplicaState] | None = None
        self._private: Path | None = None  # the private copy this process made, removed at close or exit
        self.copies = 0  # full copies of the corpus made by this process (a fresh index)
        self.applied = 0  # feed entries applied

    def _open(self) -> tuple[LexicalIndex, ReplicaState]:
        index = self._open_index()
        return index, ReplicaState(index.directory)  # read after the index wiped an old layout

    def _open_index(self) -> LexicalIndex:
        try:
            return LexicalIndex(self.directory, head_weight=self.head_weight)
        except ValueError as exc:  # tantivy: the directory's writer lock is held
            if "lock" not in str(exc).lower():
                raise
            # Another process (a running `serve`, `newsdesk mcp`) owns this directory. A
            # private copy is correct, only slower to start; it lives as long as this process.
            private = private_copy_dir()
            self._private = private
            weakref.finalize(self, shutil.rmtree, private, True)  # at exit, if close() was not called
            logger.info("lexical index %s is in use by another process; searching a private copy in %s until "
                        "this process exits (NEWSDESK_LEXICAL_DIR per process keeps one on disk)",
                        self.directory, private)
            return LexicalIndex(private, head_weight=self.head_weight)

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened[0].close()
                self._opened = None
            if self._private is not None:
                shutil.rmtree(self._private, ignore_errors=True)
                self._private = None

    def current(self) -> LexicalIndex:
        with self._lock:
            if self._opened is None:
                self._opened = self._open()
            index, state = self._opened
            if state.collection_id != self.store.collection_id():
                self._copy_all(index, state)
                self._followed = None
            appended = self.store.feed.appended_here()
            now = time.monotonic()
            if (self._followed is None or self._followed[1] != appended
                    or now - self._followed[0] >= self.follow_interval_s):
                self._follow(index, state)
                self._followed = (now, appended)
            return index

    def _copy_all(self, index: LexicalIndex, state: ReplicaState) -> None:
        """A fresh index: note the feed head first, copy every chunk, then follow the feed
        from that head, so a write landing during the copy is applied after it."""
        head = self.store.feed.head()
        index.clear()
        for page in self.store.iter_chunk_pages():
            index.replace_articles((), page)
        index.commit()
        state.save(position=head, collection_id=self.store.collection_id())
        self.copies += 1
        release_freed_memory()
        logger.info("lexical index copied from the store: %d chunks, feed position %d", len(index), head)

    def _follow(self, index: LexicalIndex, state: ReplicaState) -> None:
        while True:
            entries = self.store.feed.read(state.position)
            if not entries:
                return
            articles = sorted({a for e in entries for a in e.article_ids})
            index.replace_articles(articles, self.store.chunks_of(articles))
            index.commit()
            state.save(position=entries[-1].seq)
            self.applied += len(entries)


PRIVATE_PREFIX = "newsdesk-lexical-"
STALE_AFTER_S = 60.0  # a copy this young may still be opening, its writer lock not yet taken


def private_copy_dir(root: Path | None = None) -> Path:
    """A new directory (in the temp folder) for a private copy. Copies left behind by
    processes that were killed before they could remove theirs go first."""
    remove_stale_copies(root)
    return Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX, dir=root))


def remove_stale_copies(root: Path | None = None) -> int:
    """Remove private copies no process searches any more: a copy in use holds its writer
    lock (flock, released by the kernel when its process dies). Returns how many went."""
    removed = 0
    for path in Path(root or tempfile.gettempdir()).glob(PRIVATE_PREFIX + "*"):
        try:
            young = time.time() - path.stat().st_mtime < STALE_AFTER_S
        except OSError:
            continue
        if path.is_dir() and not young and not held_elsewhere(path):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def release_freed_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's `malloc_trim`; elsewhere
    nothing). A copy of the corpus passes every chunk through the heap once and frees it, but
    glibc keeps the freed pages: after copying 100k chunks a replica held 130 MiB of them
    (`newsdesk bench scale`), which only this returns."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:  # no C library to load: nothing to release
        return
    if trim is not None:
        trim(0)


def held_elsewhere(directory: Path) -> bool:
    """True when another process holds this index directory's writer lock (a running
    `serve`, say). tantivy takes it with flock(2), so a dead holder never counts."""
    import fcntl

    lock = Path(directory) / ".tantivy-writer.lock"
    if not lock.exists():
        return False
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def lexical_dir(index_dir: Path, collection: str, *, chroma_host: str | None = None, chroma_port: int = 8000,
                explicit: Path | None = None) -> Path:
    """Where this replica keeps its lexical index: `explicit` (NEWSDESK_LEXICAL_DIR) plus the
    collection, else beside the embedded store, or under index_dir per Chroma server."""
    if explicit is not None:
        return Path(explicit) / collection
    base = Path(index_dir) / "lexical"
    if chroma_host:
        base = base / f"{chroma_host}-{chroma_port}"
    return base / collection
