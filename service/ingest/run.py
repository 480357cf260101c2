"""A pipeline run as people watch it: a progress bar with rates, then a summary table.

Shared by the CLI, the Slack runner and the benchmarks. `components` is anything with an
`ingester` and a `collection` (and, for the sample corpus, a `store` and `settings`).
"""

from __future__ import annotations


def run_ingest(articles, errors, components, console) -> int:
    """Ingest with a progress bar and a summary table; returns the exit code."""
    return run_reported(lambda tick: components.ingester.ingest(articles, progress=tick), len(articles), errors,
                        components, console)


def run_reported(ingest, total: int | None, errors, components, console) -> int:
    """`ingest(progress)` under a progress bar (`total` articles; None when only the run
    will know, as on Ray), then the summary table; returns the exit code."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.table import Table

    backfill_sentence_vectors(components, console)
    state = {"chunks": 0}
    with Progress(
        TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rates]}"), TimeElapsedColumn(),
        console=console, transient=False, disable=total == 0,
    ) as progress:
        task = progress.add_task("ingest", total=total, rates="")

        def tick(n_articles: int, n_chunks: int) -> None:
            state["chunks"] += n_chunks
            progress.advance(task, n_articles)
            elapsed = max(progress.tasks[0].elapsed or 1e-9, 1e-9)
            done = progress.tasks[0].completed
            progress.update(task, rates=f"{done / elapsed:.1f} articles/s  {state['chunks'] / elapsed:.1f} chunks/s")

        report = ingest(tick)
    report.failed = list(errors) + report.failed
    table = Table(title=f"ingest into {components.collection!r}")
    for column in ("added", "updated", "unchanged", "failed", "chunks written", "embedded", "seconds"):
        table.add_column(column, justify="right")
    counts = report.counts()
    table.add_row(*(str(counts[k]) for k in ("added", "updated", "unchanged", "failed")),
                  str(report.chunks_written), str(report.chunks_embedded), f"{report.seconds:.1f}")
    console.print(table)
    for error in report.failed:
        console.print(f"[red]failed[/red] {error.message}", highlight=False, soft_wrap=True)
    return 1 if report.failed else 0


def backfill_sentence_vectors(components, console) -> None:
    """A collection made before chunks kept sentence vectors gets them, once, under a
    progress bar (`Ingester.backfill_sentence_vectors`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    store = getattr(components, "store", None)
    if store is None or store.sentence_vectors:
        return
    with Progress(TextColumn("[bold]sentence vectors"), BarColumn(), MofNCompleteColumn(), TextColumn("chunks"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("sentences", total=store.count_chunks())
        done = components.ingester.backfill_sentence_vectors(progress=lambda d, _: progress.update(task, completed=d))
    if done:
        console.print(f"{components.collection!r}: sentence vectors added to {done} chunks written before they were kept")


def ensure_sample_corpus(components, console) -> None:
    """On a fresh checkout the index is empty: index the shipped sample corpus first. An
    index made before chunks kept sentence vectors gets them."""
    from service.ingest.loading import load_paths

    if components.store.count_articles() > 0:
        backfill_sentence_vectors(components, console)
        return
    corpus = components.settings.sample_corpus_dir
    console.print(f"index {components.collection!r} is empty: indexing the sample corpus from {corpus}")
    loaded = load_paths([corpus])
    run_ingest(loaded.articles, loaded.errors, components, console)
