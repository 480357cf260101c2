"""HTML articles keep the time of day of `article:published_time`: trafilatura's own date
has the day only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.ingest.loading import load_file

PAGE = """<html><head><title>Story</title>{meta}<meta property="og:site_name" content="Glasshouse"></head>
<body><article><h1>Mistral ships a small model</h1><p>Mistral released a new small open-weight model on Tuesday,
the company said.</p><p>The model runs on a single GPU and is licensed under Apache 2.0.</p></article></body></html>"""


@pytest.mark.parametrize(("meta", "published"), [
    ('<meta property="article:published_time" content="2025-03-11T10:42:00Z">', datetime(2025, 3, 11, 10, 42, tzinfo=UTC)),
    ('<meta property="article:published_time" content="2025-03-11T10:42:00+02:00">',
     datetime(2025, 3, 11, 8, 42, tzinfo=UTC)),
    ('<meta property="article:published_time" content="soon"><meta name="date" content="2025-03-11">',
     datetime(2025, 3, 11, tzinfo=UTC)),  # unreadable: trafilatura's date
])
def test_the_time_of_day_is_kept(tmp_path, meta, published):
    path = tmp_path / "story.html"
    path.write_text(PAGE.format(meta=meta), encoding="utf-8")
    [article], errors = load_file(path)
    assert not errors
    assert article.published_at == published


def test_the_sample_corpus_html_keeps_its_times():
    from tests.conftest import CORPUS_DIR

    [article], _ = load_file(CORPUS_DIR / "harborview-2024-09-20-three-mile-island.html")
    assert article.published_at == datetime(2024, 9, 20, 13, 15, tzinfo=UTC)
