"""What `pip install .` must bring in, even with the pip that ships with Python 3.11."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def declared() -> set[str]:
    """The runtime dependencies' names, normalised (PEP 503, with underscores)."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower().replace("-", "_") for r in project["dependencies"]}


def test_html_cleaning_is_a_direct_dependency():
    # Fault 10 of issue 11: trafilatura reaches lxml_html_clean only through lxml's
    # `html_clean` extra, which pip 23.2 left out: HTML ingestion (and `serve` indexing the
    # sample corpus) then failed on import. A direct dependency installs it with any pip.
    assert "lxml_html_clean" in declared()
    import lxml_html_clean  # noqa: F401 - what trafilatura imports for HTML
    from lxml.html.clean import Cleaner  # noqa: F401 - lxml's own import path resolves to it
