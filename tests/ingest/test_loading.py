import json
from datetime import UTC, datetime

import pytest

from service.dates import parse_date
from service.ingest.loading import (
    load_file,
    load_paths,
    normalise_whitespace,
    text_article_id,
)


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_txt_title_and_dateline(tmp_path):
    path = write(tmp_path, "a.txt", "Chip war heats up\r\n\r\nPublished On Mon Mar 10 2025\n\nNvidia  said\u00a0things.   \n\n\n\nMore text.")
    [article], errors = load_file(path)
    assert errors == []
    assert article.title == "Chip war heats up"
    assert article.published_at == datetime(2025, 3, 10, tzinfo=UTC)
    assert article.text == "Chip war heats up\n\nPublished On Mon Mar 10 2025\n\nNvidia said things.\n\nMore text."
    assert article.article_id == text_article_id(article.text)


def test_markdown_front_matter_and_heading(tmp_path):
    path = write(tmp_path, "a.md", "---\nid: m1\nsource: Bayline Tech\nauthor: Ana Ruiz\nurl: https://b.example/m1\npublished_at: 2025-02-14T09:30:00Z\n---\n# Headline here\n\nBody text.")
    [article], _ = load_file(path)
    assert (article.article_id, article.title, article.outlet, article.author) == ("m1", "Headline here", "Bayline Tech", "Ana Ruiz")
    assert article.published_at == datetime(2025, 2, 14, 9, 30, tzinfo=UTC)
    assert article.text.startswith("# Headline here")


def test_id_falls_back_to_url_then_hash(tmp_path):
    path = write(tmp_path, "a.jsonl", "\n".join([
        json.dumps({"title": "T", "text": "Body one.", "url": "https://x.example/1"}),
        json.dumps({"title": "T", "text": "Body  two."}),
    ]))
    articles, errors = load_file(path)
    assert not errors
    assert articles[0].article_id == "https://x.example/1"
    assert articles[1].article_id == text_article_id("Body two.")


def test_html_extraction(tmp_path):
    html = """<html><head><title>Site | Story</title><meta name="author" content="Jane Roe">
    <meta property="article:published_time" content="2025-03-11T10:00:00Z"><meta property="og:site_name" content="Glasshouse">
    <link rel="canonical" href="https://g.example/story"></head><body><nav>Home | About | Subscribe</nav>
    <article><h1>Mistral ships a small model</h1><p>Mistral released a new small open-weight model on Tuesday, the company said.</p>
    <p>The model runs on a single GPU and is licensed under Apache 2.0.</p></article><footer>Copyright 2025</footer></body></html>"""
    [article], errors = load_file(write(tmp_path, "s.html", html))
    assert not errors
    assert article.title == "Mistral ships a small model"
    assert article.author == "Jane Roe" and article.outlet == "Glasshouse"
    assert article.url == "https://g.example/story"
    assert article.published_at.date().isoformat() == "2025-03-11"
    assert "single GPU" in article.text and "Subscribe" not in article.text


@pytest.mark.parametrize("name,content,reason", [
    ("bin.txt", b"\x00\x01\x02binary", "binary file"),
    ("latin.txt", "caf\xe9".encode("latin-1"), "not valid UTF-8 (byte 0xe9 at offset 3)"),
    ("empty.md", b"  \n", "empty file"),
    ("notext.json", b'{"title": "No body"}', "article has no text"),
    ("bad.json", b'{"title": ', "invalid JSON"),
    ("list.json", b'[1, 2]', "expected one JSON object"),
    ("date.json", b'{"title": "x", "text": "y", "published_at": "yesterday"}', "published_at: unrecognised date"),
])
def test_bad_files_are_reported_with_path_and_reason(tmp_path, name, content, reason):
    path = write(tmp_path, name, content, mode="wb")
    articles, errors = load_file(path)
    assert articles == []
    assert len(errors) == 1
    assert errors[0].path == str(path)
    assert reason in errors[0].message
    assert errors[0].message.startswith(str(path))


def test_jsonl_bad_lines_reported_by_line_good_lines_kept(tmp_path):
    path = write(tmp_path, "w.jsonl", "\n".join([
        json.dumps({"id": "ok1", "title": "A", "text": "Fine."}),
        "{not json",
        json.dumps({"id": "ok2", "title": "B", "text": ""}),
        json.dumps({"id": "ok3", "title": "C", "text": "Also fine."}),
    ]))
    articles, errors = load_file(path)
    assert [a.article_id for a in articles] == ["ok1", "ok3"]
    assert [(e.line, e.reason.split(":")[0]) for e in errors] == [(2, "invalid JSON"), (3, "article has no text")]
    assert errors[0].message.startswith(f"{path}:2: ")


def test_folder_walk_skips_hidden_and_unsupported_but_explicit_unsupported_fails(tmp_path):
    write(tmp_path, "a.md", "# A\n\nText a.")
    (tmp_path / "sub").mkdir()
    write(tmp_path, "sub/b.txt", "B\n\nText b.")
    write(tmp_path, ".hidden.md", "# H\n\nhidden")
    write(tmp_path, "notes.csv", "x,y")
    result = load_paths([tmp_path, tmp_path / "notes.csv", tmp_path / "missing.md"])
    assert sorted(a.title for a in result.articles) == ["A", "B"]
    assert [e.reason.split(" ")[0] for e in result.errors] == ["unsupported", "no"]


def test_normalise_whitespace_changes_only_whitespace():
    raw = "  A\u00a0 b\t c  \r\n\r\n\r\n\r\nd\u200b e  "
    assert normalise_whitespace(raw) == "A b c\n\nd e"


@pytest.mark.parametrize("value,expected", [
    ("2025-03-10", datetime(2025, 3, 10, tzinfo=UTC)),
    ("2025-03-10T12:00:00+02:00", datetime(2025, 3, 10, 10, 0, tzinfo=UTC)),
    ("Mon Mar 10 2025", datetime(2025, 3, 10, tzinfo=UTC)),
    ("March 10, 2025", datetime(2025, 3, 10, tzinfo=UTC)),
    (None, None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_an_oversized_file_is_reported_by_path_and_the_others_go_in(tmp_path):
    big = write(tmp_path, "big.txt", "Long story\n\n" + "word " * 400)
    write(tmp_path, "small.jsonl", json.dumps({"title": "S", "text": "Short."}) + "\n"
          + json.dumps({"title": "L", "text": "x" * 1500}) + "\n")
    result = load_paths([tmp_path], max_chars=1000)
    assert [a.title for a in result.articles] == ["S"]
    assert sorted((e.path, e.line, type(e).__name__) for e in result.errors) == [
        (str(big), None, "ArticleTooLargeError"), (str(tmp_path / "small.jsonl"), 2, "ArticleTooLargeError")]
    assert "over the limit of 1,000 (NEWSDESK_MAX_ARTICLE_CHARS)" in result.errors[0].message


@pytest.mark.parametrize("name,content", [
    ("zw.json", json.dumps({"title": "Invisible", "text": "\u200b\u200d\ufeff"})),
    ("zw.txt", "\ufeff\u200b\n\u2060\n"),
])
def test_a_file_of_only_invisible_characters_is_an_error(tmp_path, name, content):
    articles, errors = load_file(write(tmp_path, name, content))
    assert articles == [] and len(errors) == 1
    assert "no visible text" in errors[0].reason or "no text" in errors[0].reason
