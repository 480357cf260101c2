"""Streamable HTTP: the MCP endpoint added to an existing ASGI app (the API under
`newsdesk serve`, at `/mcp`), or served alone.

The endpoint is one route taking POST (JSON-RPC messages), GET (the server's event
stream) and DELETE (end a session). Its session manager runs inside the host app's
lifespan, wrapped around whatever lifespan the app already has.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.routing import Route

from service.access import Door
from service.collections import Collections
from service.mcp.access import DoorMiddleware
from service.mcp.server import build_server

MCP_PATH = "/mcp"


def mount_mcp(app, collections: Collections, *, path: str = MCP_PATH, host: str = "127.0.0.1",
              door: Door | None = None):
    """Add the MCP endpoint at `path` to the Starlette/FastAPI `app`; returns the MCPServer.
    `host` is the address served: on loopback the SDK refuses other Host headers (DNS
    rebinding protection). `door` checks keys at this endpoint (`service.access.Door`);
    leave it None when the host app checks them already (the API's key middleware does)."""
    server = build_server(collections)
    # The transport logs a line per stateless request ("Terminating session: None"): noise in
    # the API's access log, which already has a line for each request.
    logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)
    # Built for its session manager and endpoint; the route is re-added on `app` so the
    # host's middleware (request ids, body limit) applies to it as to every route.
    # Stateless: no session lives in this process, so any replica behind a load balancer can
    # answer any request (the tools never call back to the client).
    sub = server.streamable_http_app(streamable_http_path=path, host=host, max_request_body_size=1_000_000,
                                     stateless_http=True)
    endpoint = next(r.endpoint for r in sub.routes if isinstance(r, Route) and r.path == path)
    app.router.routes.append(Route(path, endpoint=DoorMiddleware(endpoint, door) if door else endpoint,
                                   name="mcp", include_in_schema=False))
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app) -> AsyncIterator:
        async with server.session_manager.run():
            async with outer(asgi_app) as state:
                yield state

    app.router.lifespan_context = lifespan
    return server
