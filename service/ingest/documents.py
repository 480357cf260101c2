"""LlamaIndex `Document`s as articles, so any LlamaIndex reader can feed newsdesk.

The document's text is the article's text (whitespace normalised, as for files). Its
metadata gives the rest, under the names readers commonly use:

    article id    metadata id / article_id, else the url, else the document's own id
                  unless it is LlamaIndex's random default (a UUID), else a hash of the text
    title         title (else the first line)       url      url / link / source_url
    source        source / outlet / publisher       author   author / authors / byline
    published_at  published_at / date / published / publication_date / pub_date

Stable ids matter: re-reading the same documents must update articles, not add copies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from service.errors import IngestError
from service.ingest.loading import build_article
from service.models import Article

_FIELDS = {
    "title": ("title",),
    "url": ("url", "link", "source_url"),
    "source": ("source", "outlet", "publisher"),
    "author": ("author", "authors", "byline"),
    "published_at": ("published_at", "date", "published", "publication_date", "pub_date"),
}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _first(meta: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = meta.get(name)
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value if v)
        if value not in (None, ""):
            return value
    return None


def article_from_document(document: Any, *, origin: str | None = None) -> Article:
    """ValueError when the document has no text or unusable metadata (the message says which)."""
    meta = dict(getattr(document, "metadata", None) or {})
    record: dict[str, Any] = {name: _first(meta, keys) for name, keys in _FIELDS.items()}
    doc_id = getattr(document, "id_", None) or getattr(document, "doc_id", None)
    record["id"] = _first(meta, ("id", "article_id")) or record["url"] or (
        doc_id if doc_id and not _UUID.match(str(doc_id)) else None)
    record["text"] = getattr(document, "text", None)
    where = origin or str(meta.get("file_path") or doc_id or "document")
    return build_article(record, origin=where)


def articles_from_documents(documents: Iterable[Any]) -> tuple[list[Article], list[IngestError]]:
    articles, errors = [], []
    for index, document in enumerate(documents):
        meta = getattr(document, "metadata", None) or {}
        where = str(meta.get("file_path") or f"documents[{index}]")
        try:
            articles.append(article_from_document(document, origin=where))
        except ValueError as exc:
            errors.append(IngestError(str(exc), path=where))
    return articles, errors
