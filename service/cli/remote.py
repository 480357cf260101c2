"""The CLI's calls to a running `newsdesk serve` (found by service/cli/discovery.py): ask,
ingest, delete. The server answers them with its own components, so what the CLI writes is
searchable there at once, by keyword and by meaning. Its problems (RFC 9457) become the
CLI's one-line errors."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from service.cli.discovery import OPENER, RunningServer
from service.errors import IngestError, NewsdeskError, UnauthorizedError
from service.ingest.pipeline import IngestReport
from service.models import Article, iso

BATCH_CHARS = 1_000_000  # of article text a request: at most 3 bytes a character, well under NEWSDESK_MAX_BODY_BYTES
BATCH_ARTICLES = 64
TIMEOUT_S = 600.0  # a batch is embedded before the server answers


class ServerClient:
    """One running server, for one collection, authenticated with NEWSDESK_API_KEY if set."""

    def __init__(self, server: RunningServer, *, collection: str, api_key: str | None = None):
        self.server = server
        self.collection = collection
        self.headers = {"Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def ask(self, question: str, filters: dict[str, Any], top_k: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"question": question, "stream": False, "collection": self.collection}
        if filters:
            body["filters"] = filters
        if top_k is not None:
            body["top_k"] = top_k
        return self._checked(*self._request("POST", "/v1/ask", body))

    def delete(self, article_id: str) -> dict[str, Any]:
        return self._checked(*self._request("DELETE", f"/v1/articles/{quote(article_id, safe='')}?{self._query()}"))

    def post_articles(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The server's ingest summary; a batch whose every article failed comes back as a
        422/413 problem, whose `results` say the same."""
        status, body = self._request("POST", f"/v1/articles?{self._query()}", records)
        if status in (413, 422) and isinstance(body.get("results"), list):
            return {"results": body["results"], "chunks_written": 0}
        return self._checked(status, body)

    def _query(self) -> str:
        return urlencode({"collection": self.collection})

    def _request(self, method: str, path: str, payload: Any = None) -> tuple[int, dict[str, Any]]:
        """The status and JSON body of one call; an HTTP error status is returned, not raised."""
        data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {**self.headers, **({"Content-Type": "application/json"} if data is not None else {})}
        request = urllib.request.Request(self.server.url + path, data=data, headers=headers, method=method)
        try:
            with OPENER.open(request, timeout=TIMEOUT_S) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as exc:  # 4xx and 5xx: a problem body
            with exc:
                return exc.code, _json(exc.read())
        except OSError as exc:  # refused, reset, timed out
            raise NewsdeskError(f"newsdesk serve at {self.server.url} did not answer ({type(exc).__name__}); "
                                f"is it still running?") from None

    def _checked(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        if status == 401:
            raise UnauthorizedError(
                f"newsdesk serve at {self.server.url} requires an API key: set NEWSDESK_API_KEY to one "
                f"(`newsdesk keys create --name cli --scopes ask,write`)")
        if status >= 400:
            raise NewsdeskError(str(body.get("detail") or body.get("title") or f"HTTP {status}"))
        return body


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def article_record(article: Article) -> dict[str, Any]:
    """An article as `POST /v1/articles` takes it: the server's loader normalises it the same
    way, so its id and content hash are those a local ingest would give."""
    record = {"id": article.article_id, "title": article.title, "text": article.text, "url": article.url,
              "source": article.outlet, "author": article.author, "published_at": iso(article.published_at)}
    return {k: v for k, v in record.items() if v is not None}


def batches(articles: Sequence[Article]) -> Iterable[list[Article]]:
    batch: list[Article] = []
    size = 0
    for article in articles:
        if batch and (len(batch) >= BATCH_ARTICLES or size + len(article.text) > BATCH_CHARS):
            yield batch
            batch, size = [], 0
        batch.append(article)
        size += len(article.text)
    if batch:
        yield batch


class RemoteIngester:
    """An `Ingester` look-alike that ingests through the server: what `run_reported` and the
    feed watcher call."""

    def __init__(self, client: ServerClient):
        self.client = client

    def ingest(self, articles: Iterable[Article], progress: Callable[[int, int], None] | None = None) -> IngestReport:
        started = time.monotonic()
        report = IngestReport()
        for batch in batches(list(articles)):
            summary = self.client.post_articles([article_record(a) for a in batch])
            part = _report(batch, summary)
            report.merge(part)
            if progress is not None:
                progress(len(batch), part.chunks_written)
        report.seconds = time.monotonic() - started
        return report


def _report(batch: list[Article], summary: dict[str, Any]) -> IngestReport:
    report = IngestReport(chunks_written=int(summary.get("chunks_written") or 0))
    for result in summary.get("results") or []:
        article = batch[int(result["index"])]
        status = result.get("status")
        if status in ("added", "updated", "unchanged"):
            getattr(report, status).append(article.article_id)
        else:
            report.failed.append(IngestError(str(result.get("reason") or "refused by the server"),
                                             path=article.origin))
    return report
