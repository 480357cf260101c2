"""A lexical index directory another process holds: this process searches a private copy,
which it removes when it closes or exits; copies that killed processes left behind are
swept by the next one that makes a copy."""

from __future__ import annotations

import gc
import os
import tempfile
import time

import pytest

from service.index.lexical import LexicalIndex
from service.index.replica import LexicalReplica, remove_stale_copies
from tests.conftest import make_article


@pytest.fixture
def temp_folder(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_private_copy_lives_as_long_as_its_replica(components, temp_folder):
    components.ingester.ingest([make_article("a1")])
    components.lexical.current()  # holds the directory, as a running `serve` does
    second = LexicalReplica(components.store, components.lexical_dir)
    assert [c.metadata["article_id"] for c, _ in second.current().search("Nvidia revenue", 5)] == ["a1"]
    (copy,) = temp_folder.glob("newsdesk-lexical-*")
    second.close()
    assert not copy.exists()

    third = LexicalReplica(components.store, components.lexical_dir)
    third.current()
    (copy,) = temp_folder.glob("newsdesk-lexical-*")
    del third  # never closed: removed when it is collected, or at the latest when the process exits
    gc.collect()
    assert not copy.exists()


def test_copies_no_process_holds_are_swept(temp_folder):
    abandoned = temp_folder / "newsdesk-lexical-abandoned"
    abandoned.mkdir()
    (abandoned / "state.json").write_text("{}")
    held = temp_folder / "newsdesk-lexical-held"
    index = LexicalIndex(held)  # its writer lock is held
    young = temp_folder / "newsdesk-lexical-young"
    young.mkdir()
    other = temp_folder / "unrelated"
    other.mkdir()
    old = time.time() - 3600
    for path in (abandoned, held, other):
        os.utime(path, (old, old))

    assert remove_stale_copies() == 1
    assert not abandoned.exists() and held.exists() and young.exists() and other.exists()
    index.close()
