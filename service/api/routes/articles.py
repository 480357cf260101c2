"""/v1/articles: ingest (one object or a list), page through, read and delete articles.

POST validates each article on its own, like the file loader: one bad article in a batch
is reported with its reason and the others are still indexed. The status code says what
happened overall: 201 when at least one article was added, 200 when none was new (only
updated, unchanged or some failed), and a 422 `invalid-article` problem when every one
failed (a 413 `article-too-large` problem when each was over NEWSDESK_MAX_ARTICLE_CHARS).
Article ids may contain `/` and `:` (a url is a valid id), so the id routes take the rest
of the path; percent-encoding the id works too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from service.api.bodies import JSONBodyRoute, body_error
from service.api.deps import IngesterDep, SettingsDep, StoreDep
from service.api.problems import Responses, problem_response
from service.api.schemas import (
    ArticleCreate,
    ArticleDeleted,
    ArticleDetail,
    ArticlePublic,
    ArticleResult,
    ArticlesPage,
    IngestCounts,
    IngestSummary,
    Problem,
)
from service.errors import ArticleTooLargeError, IngestError
from service.ingest.loading import parse_records
from service.ingest.pipeline import IngestReport
from service.models import Article

router = APIRouter(prefix="/v1/articles", tags=["articles"], route_class=JSONBodyRoute)

# Chroma takes offsets as unsigned 32-bit integers; past this a page is empty anyway.
MAX_OFFSET = 2**31 - 1
_STORE_DOWN: Responses = {503: {"model": Problem, "description": "Vector store unavailable or too slow (type store-unavailable)"}}
_NO_COLLECTION: Responses = {404: {"model": Problem, "description": "No such collection (type collection-not-found)"}}

_ARTICLE_SCHEMA = ArticleCreate.model_json_schema()
_CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "oneOf": [_ARTICLE_SCHEMA, {"type": "array", "minItems": 1, "items": _ARTICLE_SCHEMA}],
        }}},
    }
}


@router.post(
    "",
    response_model=IngestSummary,
    status_code=200,
    summary="Ingest one article or a list of articles",
    openapi_extra=_CREATE_BODY,
    responses={
        201: {"model": IngestSummary, "description": "At least one article was added"},
        **_NO_COLLECTION,
        413: {"model": Problem, "description": "Body over the size limit (payload-too-large), or every article "
                                               "over NEWSDESK_MAX_ARTICLE_CHARS (article-too-large)"},
        415: {"model": Problem, "description": "Body is not sent as application/json"},
        422: {"model": Problem, "description": "Malformed body (validation-error) or every article failed (invalid-article)"},
        503: {"model": Problem, "description": "Vector store or embedder unavailable"},
    },
)
async def create_articles(request: Request, response: Response, ingester: IngesterDep, settings: SettingsDep):
    records = await _json_records(request)
    results, articles, too_large = _parse_all(records, settings.max_article_chars)
    chunks_written = 0
    if articles:
        report = await run_in_threadpool(ingester.ingest, list(articles.values()))
        chunks_written = report.chunks_written
        results.update(_statuses(articles, report))

    ordered = [results[i] for i in range(len(records))]
    counts = IngestCounts(**{s: sum(r.status == s for r in ordered) for s in ("added", "updated", "unchanged", "failed")})
    summary = IngestSummary(counts=counts, results=ordered, chunks_written=chunks_written)
    if counts.failed == len(ordered):
        noun = "the article" if len(ordered) == 1 else f"all {len(ordered)} articles"
        error = ArticleTooLargeError if len(too_large) == len(ordered) else IngestError
        return problem_response(
            status=error.status, slug=error.type_slug, title=error.title,
            detail=f"{noun} failed: " + "; ".join(f"[{r.index}] {r.reason}" for r in ordered[:3]),
            scope=request.scope, results=[r.model_dump() for r in ordered],
        )
    response.status_code = 201 if counts.added else 200
    return summary


def _parse_all(records: list[Any], max_chars: int) -> tuple[dict[int, ArticleResult], dict[int, Article], set[int]]:
    """Failures by request index, the articles to ingest by request index, and the indexes
    of the articles refused for their size."""
    results: dict[int, ArticleResult] = {}
    articles: dict[int, Article] = {}
    too_large: set[int] = set()
    for index, record in enumerate(records):
        try:
            articles[index] = _parse(record, index, max_chars)
        except (ValidationError, IngestError) as exc:
            results[index] = ArticleResult(index=index, article_id=_claimed_id(record), status="failed", reason=_reason(exc))
            if isinstance(exc, ArticleTooLargeError):
                too_large.add(index)
    # One id twice in one request: the later one wins, as on a re-run.
    last_seen = {a.article_id: i for i, a in articles.items()}
    for index, article in list(articles.items()):
        if last_seen[article.article_id] != index:
            results[index] = ArticleResult(
                index=index, article_id=article.article_id, status="failed",
                reason=f"duplicate article id in this request (the article at index {last_seen[article.article_id]} was kept)",
            )
            del articles[index]
    return results, articles, too_large


def _statuses(articles: dict[int, Article], report: IngestReport) -> dict[int, ArticleResult]:
    status = {aid: s for s in ("added", "updated", "unchanged") for aid in getattr(report, s)}
    failed = {e.path: e.reason for e in report.failed}
    return {
        index: ArticleResult(index=index, article_id=article.article_id, status="failed", reason=failed[article.origin])
        if article.origin in failed else
        ArticleResult(index=index, article_id=article.article_id, status=status[article.article_id])
        for index, article in articles.items()
    }


async def _json_records(request: Request) -> list[Any]:
    payload = await request.json()  # media type, UTF-8 and nesting checked by JSONBodyRoute
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list) and payload:
        return payload
    raise body_error("article_body", "expected an article object or a non-empty list of them")


def _parse(record: Any, index: int, max_chars: int) -> Article:
    """Schema first (types, unknown fields), then the loader's own normalisation and checks."""
    if not isinstance(record, dict):
        raise IngestError("expected an article object")
    checked = ArticleCreate.model_validate(record)
    loaded = parse_records([checked.model_dump()], origin="request", max_chars=max_chars)
    if loaded.errors:
        raise loaded.errors[0]
    return replace(loaded.articles[0], origin=f"request[{index}]")


def _claimed_id(record: Any) -> str | None:
    if isinstance(record, dict):
        value = record.get("id") or record.get("url")
        return value if isinstance(value, str) else None
    return None


def _reason(exc: ValidationError | IngestError) -> str:
    if isinstance(exc, IngestError):
        return exc.reason
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'article'}: {e['msg']}" for e in exc.errors(include_url=False)
    )


@router.get("", response_model=ArticlesPage, summary="Page through the indexed articles",
            responses={**_NO_COLLECTION, **_STORE_DOWN})
async def list_articles(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    def page() -> ArticlesPage:
        rows = store.list_articles(limit=limit, offset=offset)
        return ArticlesPage(items=[ArticlePublic(**r) for r in rows], total=store.count_articles(), limit=limit, offset=offset)

    return await run_in_threadpool(page)


_NOT_FOUND: Responses = {404: {"model": Problem, "description": "No article with this id (article-not-found), or no such "
                                                     "collection (collection-not-found)"}, **_STORE_DOWN}


@router.get("/{article_id:path}", response_model=ArticleDetail, summary="One article: metadata and full text",
            responses=_NOT_FOUND)
async def get_article(article_id: str, store: StoreDep):
    article, public = await run_in_threadpool(store.get_article, article_id)
    return ArticleDetail(**public, text=article.text)


@router.delete("/{article_id:path}", response_model=ArticleDeleted, summary="Delete an article and all its chunks",
               responses=_NOT_FOUND)
async def delete_article(article_id: str, store: StoreDep):
    removed = await run_in_threadpool(store.delete_article, article_id)
    return ArticleDeleted(article_id=article_id, chunks_deleted=removed)
