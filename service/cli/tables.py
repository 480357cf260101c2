"""Tables whose ids print whole. Rich fits a table to the console, 80 columns when the
output is piped, by cutting or folding cells; an id cut short cannot be pasted back into
`newsdesk delete` or `keys revoke`. Id columns are marked whole and the console is made
as wide as they need."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

NARROWEST = 14  # what any other column keeps, folded


def whole_column(table: Table, header: str, values: Sequence[str]) -> None:
    """A column that is never cut or folded: as wide as its longest value."""
    table.add_column(header, no_wrap=True, min_width=max([len(header), *map(len, values)]))


def print_whole(table: Table, console: Console | None = None) -> None:
    console = console or Console()
    needed = sum((c.min_width or 0) if c.no_wrap else NARROWEST for c in table.columns) + 3 * len(table.columns) + 1
    if needed > console.width:
        console = Console(width=needed, file=console.file)
    console.print(table)
