"""What `newsdesk ingest` prints when a running server does the ingesting: the same progress
bar and summary as a local run (service/ingest/run.py), without the embedding counts the
API does not report, and naming the server."""

from __future__ import annotations

from service.cli.remote import RemoteIngester


def report_through_server(articles, errors, ingester: RemoteIngester, console) -> int:
    """Ingest through the server under a progress bar, then the summary table; the exit code."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    client = ingester.client
    console.print(f"newsdesk serve is running at {client.server.url}: ingesting through it", highlight=False)
    with Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False, disable=not articles) as progress:
        task = progress.add_task("ingest", total=len(articles))
        report = ingester.ingest(articles, progress=lambda n, _: progress.advance(task, n))
    report.failed = list(errors) + report.failed
    table = Table(title=f"ingest into {client.collection!r} at {client.server.url}")
    for column in ("added", "updated", "unchanged", "failed", "chunks written", "seconds"):
        table.add_column(column, justify="right")
    counts = report.counts()
    table.add_row(*(str(counts[k]) for k in ("added", "updated", "unchanged", "failed")),
                  str(report.chunks_written), f"{report.seconds:.1f}")
    console.print(table)
    for error in report.failed:
        console.print(f"[red]failed[/red] {error.message}", highlight=False, soft_wrap=True)
    return 1 if report.failed else 0
