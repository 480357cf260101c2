"""The eval files' one format: JSON Lines, blank lines allowed, errors naming file:line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from service.errors import EvalError


def read_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    """(`path:line`, record) for each non-blank line, read as it goes; EvalError on bad JSON."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalError(f"{where}: invalid JSON: {exc.msg}") from None
