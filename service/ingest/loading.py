"""Reading article files (.txt, .md, .html, .json, .jsonl) into `Article`s.

Bad input never stops a run: each problem becomes an `IngestError` naming the path (and
line) and the reason, and the loader goes on with the next file or line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from service.dates import DATELINE as _DATELINE
from service.dates import date_from_match as _date_from_match
from service.dates import parse_date
from service.errors import ArticleTooLargeError, IngestError
from service.models import Article, sha256_hex

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"}
# Characters of text after normalisation (NEWSDESK_MAX_ARTICLE_CHARS): chunking and embedding
# time grow with it, and no news article comes near it.
MAX_ARTICLE_CHARS = 2_000_000

_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\f\v]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_UNSAFE_URL = re.compile(r"[\s\x00-\x1f\x7f\\<>\"]")  # whitespace, controls, and what breaks out of markup


def normalise_whitespace(text: str) -> str:
    """Only whitespace changes: line endings, odd spaces, runs of blanks, blank-line runs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def text_article_id(text: str) -> str:
    return "text-" + sha256_hex(text)[:20]


class _TooLarge(ValueError):
    """Reported as `ArticleTooLargeError` (413 over HTTP)."""


def _error(exc: ValueError, where: str, line: int | None = None) -> IngestError:
    kind = ArticleTooLargeError if isinstance(exc, _TooLarge) else IngestError
    return kind(str(exc), path=where, line=line)


def build_article(record: dict[str, Any], *, origin: str, max_chars: int = MAX_ARTICLE_CHARS) -> Article:
    """Validate one article record (from JSON, front matter or HTML) and normalise it."""
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("article has no text")
    text = normalise_whitespace(text)
    if not text:
        # The id of an empty text would be the hash of "", shared by every such article.
        raise ValueError("article has no visible text: only whitespace and zero-width characters")
    if len(text) > max_chars:
        raise _TooLarge(f"article text has {len(text):,} characters, over the limit of {max_chars:,} "
                        "(NEWSDESK_MAX_ARTICLE_CHARS)")
    title = record.get("title")
    if title is not None and not isinstance(title, str):
        raise ValueError("title must be a string")
    title = normalise_whitespace(title or "") or _first_line_title(text)
    for name in ("id", "url", "source", "author"):
        if record.get(name) is not None and not isinstance(record[name], (str, int)):
            raise ValueError(f"{name} must be a string")
    try:
        published_at = parse_date(record.get("published_at"))
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"published_at: {exc}") from None
    url = _clean(record.get("url"))
    if url is not None and not is_web_url(url):
        # Readers follow it from every citation: `javascript:` and the like must never get in.
        raise ValueError("url must be an http:// or https:// URL")
    article_id = _clean(record.get("id")) or url or text_article_id(text)
    return Article(
        article_id=article_id,
        title=title,
        text=text,
        outlet=_clean(record.get("source")),
        author=_clean(record.get("author")),
        url=url,
        published_at=published_at,
        origin=origin,
    )


def is_web_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL: the only kind newsdesk stores and links."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and not _UNSAFE_URL.search(url)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    value = normalise_whitespace(str(value))
    return value or None


def _first_line_title(text: str) -> str:
    for line in text.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            return heading.group(1).strip()
        if line.strip():
            return line.strip()[:300]
    return ""


@dataclass
class LoadResult:
    articles: list[Article]
    errors: list[IngestError]


def iter_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, IngestError | None]]:
    """Files named directly are always read (an unsupported one is an error); folders are
    walked recursively for supported suffixes, skipping hidden entries."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child, None
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                yield path, None
            else:
                yield path, IngestError(
                    f"unsupported file type {path.suffix or '(none)'!r}; expected one of "
                    + ", ".join(sorted(SUPPORTED_SUFFIXES)),
                    path=str(path),
                )
        else:
            yield path, IngestError("no such file or folder", path=str(path))


def load_paths(paths: Iterable[str | Path], *, max_chars: int = MAX_ARTICLE_CHARS) -> LoadResult:
    articles: list[Article] = []
    errors: list[IngestError] = []
    for path, error in iter_files(paths):
        if error:
            errors.append(error)
            continue
        found, problems = load_file(path, max_chars=max_chars)
        articles.extend(found)
        errors.extend(problems)
    return LoadResult(articles, errors)


def load_file(path: Path, *, max_chars: int = MAX_ARTICLE_CHARS) -> tuple[list[Article], list[IngestError]]:
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [IngestError(f"cannot read file: {exc.strerror}", path=where)]
    try:
        content = _decode(raw)
    except ValueError as exc:
        return [], [IngestError(str(exc), path=where)]
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _load_jsonl(content, where, max_chars)
    try:
        if suffix == ".json":
            article = _load_json(content, where, max_chars)
        elif suffix in {".html", ".htm"}:
            article = _load_html(content, where, max_chars)
        else:
            article = _load_text(content, where, max_chars)
    except ValueError as exc:
        return [], [_error(exc, where)]
    return [article], []


def _decode(raw: bytes) -> str:
    if not raw.strip():
        raise ValueError("empty file")
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (contains NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None


def _load_jsonl(content: str, where: str, max_chars: int) -> tuple[list[Article], list[IngestError]]:
    articles, errors = [], []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("expected a JSON object per line")
            articles.append(build_article(record, origin=f"{where}:{number}", max_chars=max_chars))
        except json.JSONDecodeError as exc:
            errors.append(IngestError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=where, line=number))
        except ValueError as exc:
            errors.append(_error(exc, where, number))
    if not articles and not errors:
        errors.append(IngestError("no articles in file", path=where))
    return articles, errors


def _load_json(content: str, where: str, max_chars: int) -> Article:
    try:
        record = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("expected one JSON object (use .jsonl for many articles)")
    return build_article(record, origin=where, max_chars=max_chars)


def _load_text(content: str, where: str, max_chars: int) -> Article:
    record, body = _front_matter(content)
    text = normalise_whitespace(body)
    if not text:
        raise ValueError("article has no text")
    if "published_at" not in record:
        published = _dateline(text.split("\n")[:6])
        if published is not None:
            record["published_at"] = published
    if not record.get("title"):
        record["title"] = _first_line_title(text)
    record["text"] = text
    return build_article(record, origin=where, max_chars=max_chars)


def _front_matter(content: str) -> tuple[dict[str, Any], str]:
    """The fields of a text file's YAML front matter (`date` read as `published_at`), and
    the body after it; none and the whole content when it has none."""
    match = None
    if content.startswith("---"):
        match = re.match(r"---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", content, re.DOTALL)
    if not match:
        return {}, content
    try:
        front = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML front matter: {exc}") from None
    if not isinstance(front, dict):
        raise ValueError("YAML front matter must be a mapping")
    record = {k: v for k, v in front.items() if k in {"id", "title", "url", "source", "author", "published_at", "date"}}
    if "published_at" not in record and "date" in record:
        record["published_at"] = record["date"]
    record.pop("date", None)
    return record, content[match.end():]


def _dateline(lines: list[str]) -> datetime | None:
    """The date of the first dateline ("Published: March 3, 2024") among `lines`, if any."""
    for line in lines:
        dateline = _DATELINE.match(line)
        if dateline:
            try:
                return _date_from_match(dateline)
            except ValueError as exc:
                raise ValueError(f"dateline: {exc}") from None
    return None


def _load_html(content: str, where: str, max_chars: int) -> Article:
    import trafilatura  # heavy; only needed for HTML
    from trafilatura.settings import Document

    doc = trafilatura.bare_extraction(content, with_metadata=True, include_comments=False, include_tables=True)
    # A Document without `as_dict=True`; the dict is only its deprecated other shape.
    if not isinstance(doc, Document) or not (doc.text or "").strip():
        raise ValueError("no article text found in the HTML")
    paragraphs = [p for p in (doc.text or "").split("\n") if p.strip()]
    return build_article(
        {
            "title": doc.title,
            "text": "\n\n".join(paragraphs),
            # The page's own canonical link may be relative: then the article has none.
            "url": doc.url if doc.url and is_web_url(doc.url) else None,
            "source": doc.sitename,
            "author": doc.author,
            "published_at": _published_time(content, doc.date),
        },
        origin=where,
        max_chars=max_chars,
    )


class _PublishedTime(HTMLParser):
    """The `article:published_time` meta tag's content (Open Graph), if the page has one."""

    def __init__(self) -> None:
        super().__init__()
        self.value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and self.value is None and found.get("property") == "article:published_time":
            self.value = (found.get("content") or "").strip() or None


def _published_time(content: str, extracted: str | None) -> str | None:
    """The page's publication time with its time of day: trafilatura gives the date only
    (YYYY-MM-DD), `article:published_time` the instant. The meta tag wins when it parses."""
    finder = _PublishedTime()
    finder.feed(content)
    if finder.value:
        try:
            parse_date(finder.value)
            return finder.value
        except ValueError:
            pass
    return extracted


def parse_records(records: list[dict[str, Any]], origin: str = "request", *,
                  max_chars: int = MAX_ARTICLE_CHARS) -> LoadResult:
    """Articles posted through the API: the same validation as files."""
    articles, errors = [], []
    for index, record in enumerate(records):
        where = f"{origin}[{index}]"
        try:
            if not isinstance(record, dict):
                raise ValueError("expected an object")
            articles.append(build_article(record, origin=where, max_chars=max_chars))
        except ValueError as exc:
            errors.append(_error(exc, where))
    return LoadResult(articles, errors)
