"""`newsdesk` that kills itself with a real SIGKILL at one point of its first article write,
for tests/api/test_kill_mid_write.py:

    python -m tests.api.killpoint POINT serve --host ... --port ...

    chunks    half of the chunk rows upserted, nothing else
    replaced  every chunk row upserted and the stale ones deleted; their articles not announced
    records   the replaced articles announced; no article record written yet
    feed      the article records written; the entry announcing them not appended
    mark      announced; the records still marked unannounced

Nothing else changes: the rest is the real CLI, store and Chroma server.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

POINTS = ("chunks", "replaced", "records", "feed", "mark")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _before(owner: type, name: str) -> None:
    """Kill the process when `owner.name` is first called, before it runs."""

    def killing(*args: Any, **kwargs: Any) -> None:
        _die()

    setattr(owner, name, killing)


def install(point: str) -> None:
    from service.index.store import ArticleStore
    from service.index.writer import ChunkWriter

    if point == "chunks":
        write_rows: Callable[..., None] = ChunkWriter.write_rows

        def half_then_die(self: ChunkWriter, *, upsert: Any = None, **kwargs: Any) -> None:
            if upsert is None or len(upsert.ids) < 2:
                return write_rows(self, upsert=upsert, **kwargs)
            write_rows(self, upsert=upsert.take(range(len(upsert.ids) // 2)))
            _die()

        ChunkWriter.write_rows = half_then_die
    elif point == "replaced":
        _before(ChunkWriter, "announce")  # a write with updated articles announces them first
    elif point == "records":
        _before(ArticleStore, "_write_records")
    elif point == "feed":
        write_records: Callable[..., None] = ArticleStore._write_records

        def records_then_die_at_the_next_entry(self: ArticleStore, items: Any) -> None:
            write_records(self, items)
            _before(ChunkWriter, "announce")

        ArticleStore._write_records = records_then_die_at_the_next_entry
    elif point == "mark":
        _before(ArticleStore, "_mark_announced")
    else:
        raise SystemExit(f"unknown kill point {point!r}; one of {', '.join(POINTS)}")


if __name__ == "__main__":
    install(sys.argv[1])
    from service.cli.main import main

    sys.exit(main(sys.argv[2:]))
