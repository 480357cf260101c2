"""Three MCP tools over the same engine as the API, the CLI and Slack.

    ask          the answer, with every [n] checked: quote, offsets, article
    search       the numbered sources with their text and offsets, no answer
    get_article  one article's text and metadata, or the slice [start:end) of it

Each tool takes an optional `collection`, resolved as the API resolves it (the server's
default, or the first collection of a key bound to others; `service.collections`).
The engine is synchronous and CPU-bound, so each call runs in a worker thread. Domain
errors become tool errors (`is_error`) whose text starts with the error's stable slug,
e.g. `article-not-found: no article with id 'x'`, translated here and only here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from pydantic import Field, StrictInt, ValidationError

from service.answer.search import find_sources
from service.collections import Collections
from service.components import Components
from service.dates import parse_date
from service.errors import NewsdeskError
from service.ingest.loading import is_web_url
from service.mcp.access import check_access, request_key
from service.models import MAX_TOP_K, Filters

INSTRUCTIONS = (
    "newsdesk answers questions about indexed news articles. `ask` returns an answer whose "
    "every [n] cites a verbatim quote with character offsets; `search` returns the sources "
    "alone; `get_article` reads an article (or the cited span of it) to check a quote."
)

QuestionText = Annotated[str, Field(min_length=1, max_length=2000, description="The question, in plain words.")]
After = Annotated[str | None, Field(description="Only articles published on or after this date (ISO 8601).")]
Before = Annotated[str | None, Field(description="Only articles published before this date (ISO 8601).")]
Outlets = Annotated[list[str] | None, Field(description="Only these outlets (the article's `source`).")]
# Strict: "5" and true are not integers (lax pydantic would take them as 5 and 1), as on the API.
TopK = Annotated[StrictInt | None, Field(ge=1, le=MAX_TOP_K, description="How many sources to retrieve.")]
Offset = Annotated[StrictInt | None, Field(ge=0)]
Collection = Annotated[str | None, Field(min_length=1, max_length=200,
                                         description="The collection to use (default: the server's).")]


def _date(name: str, value: str | None) -> datetime | None:
    try:
        return parse_date(value)
    except (ValueError, OverflowError, OSError):  # the message quotes the value: not echoed
        raise ToolError(f"bad-filter: {name}: unrecognised date; use ISO 8601, e.g. 2025-03-10") from None


def _filters(after: str | None, before: str | None, outlets: list[str] | None) -> Filters:
    return Filters(published_after=_date("published_after", after), published_before=_date("published_before", before),
                   outlets=tuple(outlets or ()))


class _Server(MCPServer):
    """The SDK's server, with one change: arguments that fail validation are reported by
    field and reason only. The SDK's message is pydantic's, which quotes each rejected value
    (`input_value=...`) back to the caller, and the API never echoes input either."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            shown = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                              for e in cause.errors(include_url=False, include_input=False))
            raise ToolError(f"Error executing tool {name}: validation-error: {shown}") from cause


def build_server(collections: Collections) -> MCPServer:
    """The MCP server over `collections`. Over HTTP, each tool checks the scope of the key
    the door let in, and that it may use the collection (`service.mcp.access`)."""
    server = _Server("newsdesk", instructions=INSTRUCTIONS, version="1")

    async def run(ctx: Context, scope: str, collection: str | None, fn: Callable[[Components], Any]) -> Any:
        try:
            key = request_key(ctx.request_context.request)
            name = collections.choose(collection, key)
            check_access(key, scope, name)
            return await anyio.to_thread.run_sync(lambda: fn(collections.get(name)))
        except NewsdeskError as exc:
            raise ToolError(f"{exc.type_slug}: {exc.message}") from None

    @server.tool(description="Answer a question from the indexed news articles. Every [n] in the answer "
                             "has a citation with a verbatim quote and its character offsets in the article.")
    async def ask(question: QuestionText, ctx: Context, published_after: After = None, published_before: Before = None,
                  outlets: Outlets = None, top_k: TopK = None, collection: Collection = None) -> dict[str, Any]:
        filters = _filters(published_after, published_before, outlets)
        answer = await run(ctx, "ask", collection, lambda c: c.engine.ask(question, filters, top_k))
        data = web_urls(answer.to_dict())
        data.pop("sources")  # `search` gives the sources; an answer's evidence is its citations
        return data

    @server.tool(description="Find the passages of news articles that best match a query, ranked, with their "
                             "text and character offsets. No answer is written.")
    async def search(query: QuestionText, ctx: Context, published_after: After = None, published_before: Before = None,
                     outlets: Outlets = None, top_k: TopK = None, collection: Collection = None) -> dict[str, Any]:
        filters = _filters(published_after, published_before, outlets)
        return web_urls(await run(ctx, "ask", collection, lambda c: find_sources(
            c.retriever, query, filters, top_k or c.settings.top_k, c.settings.relevance_threshold)))

    @server.tool(description="Read one indexed article by id: its metadata and full text, or only the span "
                             "text[start:end] when start and end are given (to check a citation).")
    async def get_article(article_id: Annotated[str, Field(min_length=1)], ctx: Context,
                          start: Offset = None, end: Offset = None,
                          collection: Collection = None) -> dict[str, Any]:
        return web_urls(await run(ctx, "ask", collection, lambda c: read_article(c, article_id, start, end)))

    return server


def web_urls(data: Any) -> Any:
    """`data` with every `url` that is not http(s) set to None: one stored before ingest
    refused them is never handed to a client to follow (the API's output does the same)."""
    if isinstance(data, dict):
        return {k: _web_url(v) if k == "url" else web_urls(v) for k, v in data.items()}
    if isinstance(data, list):
        return [web_urls(v) for v in data]
    return data


def _web_url(value: Any) -> Any:
    return value if not isinstance(value, str) or is_web_url(value) else None


def read_article(components: Components, article_id: str, start: int | None, end: int | None) -> dict[str, Any]:
    article, public = components.store.get_article(article_id)
    if start is None and end is None:
        return {**public, "text": article.text}
    start = 0 if start is None else start
    end = len(article.text) if end is None else end
    if not start < end <= len(article.text):
        raise ToolError(f"bad-range: need 0 <= start < end <= {len(article.text)} (the article's length)")
    return {**public, "start": start, "end": end, "text": article.text[start:end]}
