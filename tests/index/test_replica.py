"""The lexical replica: copying the store once, following the feed after, and its state."""

from __future__ import annotations

from service.components import Components
from service.index.replica import ReplicaState
from tests.conftest import make_article


def ids(hits):
    return [c.chunk_id for c, _ in hits]


def test_an_index_reopened_reads_only_the_feed(components, settings, embedder, tmp_path):
    replica_settings = settings.model_copy(update={"lexical_dir": tmp_path / "replica"})
    components.ingester.ingest([make_article(f"a{i}", f"Story {i} about the Vexilor satellite. It launched.") for i in range(5)])
    first = Components.build(replica_settings, embedder=embedder)
    assert len(first.lexical.current().search("Vexilor", 10)) == 5
    assert first.lexical.copies == 1
    first.lexical.close()  # the process stops

    components.ingester.ingest([make_article("late", "The Vexilor satellite failed. Engineers were puzzled.")])
    restarted = Components.build(replica_settings, embedder=embedder)
    reads = []
    get = restarted.store.chunks.get
    restarted.store.chunks.get = lambda *a, **k: reads.append(get(*a, **k)) or reads[-1]
    hits = restarted.lexical.current().search("Vexilor", 10)
    assert {c.metadata["article_id"] for c, _ in hits} == {"a0", "a1", "a2", "a3", "a4", "late"}
    assert restarted.lexical.copies == 0 and restarted.lexical.applied == 1
    assert sum(len(r["ids"]) for r in reads) == 1  # the one new chunk, not the corpus


def test_a_rebuilt_collection_is_copied_again(components, settings, embedder):
    from service.index.store import read_articles

    components.ingester.ingest([make_article("a1", "The Quorvane reactor opened. It is small.")])
    assert ids(components.lexical.current().search("Quorvane", 5))
    articles = read_articles(components.client, components.collection)
    components.rebuild()  # `newsdesk reindex`: new collections, a new feed
    assert components.lexical.current().search("Quorvane", 5) == []
    components.ingester.ingest(articles)
    assert len(components.lexical.current().search("Quorvane", 5)) == 1
    assert components.lexical.copies == 1  # the empty new collection, then the feed


def test_a_replica_whose_directory_is_in_use_still_answers(components, settings, embedder):
    components.ingester.ingest([make_article("a1", "The Plimsoll harbour reopened. Ships returned.")])
    assert ids(components.lexical.current().search("Plimsoll", 5))
    second = Components.build(settings, embedder=embedder)  # same directory, held by the first
    assert [c.metadata["article_id"] for c, _ in second.lexical.current().search("Plimsoll", 5)] == ["a1"]
    assert second.lexical.current().directory != components.lexical.current().directory


def test_queries_between_feed_reads_cost_no_feed_read_yet_see_this_process_writes(components, settings, embedder, tmp_path):
    replica = Components.build(settings.model_copy(update={"lexical_dir": tmp_path / "r", "lexical_follow_ms": 60_000}),
                               embedder=embedder)
    components.ingester.ingest([make_article("a1", "The Ostrava tram line opened. Riders cheered.")])
    reads = []
    read = replica.store.feed.read
    replica.store.feed.read = lambda *a, **k: reads.append(1) or read(*a, **k)
    assert len(replica.lexical.current().search("Ostrava", 5)) == 1
    for _ in range(5):
        replica.lexical.current()
    assert len(reads) == 1  # within the interval: the index as it is, no Chroma call
    # A write from this process (here through another store object) is seen at once.
    components.ingester.ingest([make_article("a2", "Ostrava tram fares rose. Riders grumbled.")])
    assert {c.metadata["article_id"] for c, _ in replica.lexical.current().search("Ostrava", 5)} == {"a1", "a2"}
    components.store.delete_article("a1")
    assert {c.metadata["article_id"] for c, _ in replica.lexical.current().search("Ostrava", 5)} == {"a2"}


def test_the_state_records_the_collection_and_feed_position_it_mirrors(components):
    components.ingester.ingest([make_article("a1", "The Quorvane reactor opened. It is small.")])
    index = components.lexical.current()
    state = ReplicaState(index.directory)
    assert (state.collection_id, state.position) == (components.store.collection_id(), components.store.feed.head())
    components.store.delete_article("a1")
    components.lexical.current()
    assert ReplicaState(index.directory).position == components.store.feed.head() == state.position + 1


def test_a_replica_of_an_index_in_an_older_format_copies_the_store_again(components, settings, embedder, tmp_path):
    replica_settings = settings.model_copy(update={"lexical_dir": tmp_path / "replica"})
    components.ingester.ingest([make_article("a1", "The Vexilor satellite launched. It flew.")])
    first = Components.build(replica_settings, embedder=embedder)
    assert first.lexical.current().search("Vexilor", 5) and first.lexical.copies == 1
    directory = first.lexical.current().directory
    first.lexical.close()
    (directory / "format").write_text("5-py3.11")  # an index written before the record key was renamed
    restarted = Components.build(replica_settings, embedder=embedder)
    hits = restarted.lexical.current().search("Vexilor", 5)
    assert [c.metadata["article_id"] for c, _ in hits] == ["a1"] and hits[0][0].shingle_sample
    assert restarted.lexical.copies == 1


def test_a_replica_loads_no_library_it_does_not_use():
    # scipy, scikit-learn and pandas (pulled in by `import nltk`) and llama-index (imported
    # only to find its data folder) cost a serving replica 150 MiB of its own memory.
    import subprocess
    import sys

    code = ("import sys; from service.components import Components; from service.text import sentence_spans, tokenize; "
            "assert tokenize('running dogs') == ['run', 'dog'] and sentence_spans('One. Two.') == [(0, 4), (5, 9)]; "
            "print(sorted(m for m in ('scipy', 'sklearn', 'pandas', 'llama_index.core') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_freed_memory_is_handed_back_without_error_wherever_it_runs():
    from service.index.replica import release_freed_memory

    release_freed_memory()  # glibc: malloc_trim; elsewhere nothing


def test_another_replicas_write_is_seen_by_the_first_query_after_the_interval(components, settings, embedder,
                                                                             tmp_path):
    import time

    replica = Components.build(settings.model_copy(update={"lexical_dir": tmp_path / "r", "lexical_follow_ms": 50}),
                               embedder=embedder)
    replica.lexical.current()
    replica.store.feed.appended_here = lambda: 0  # as in another process: this one's writes are not its own
    components.ingester.ingest([make_article("a1", "The Ostrava tram line opened. Riders cheered.")])
    time.sleep(0.06)
    assert len(replica.lexical.current().search("Ostrava", 5)) == 1  # the first query after the interval: read, and found
