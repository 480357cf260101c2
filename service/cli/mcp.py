"""`newsdesk mcp`: the MCP server over stdio (for desktop clients and agents that start
it as a subprocess), or alone over streamable HTTP with `--http`. `newsdesk serve`
mounts the same endpoint at /mcp beside the API."""

from __future__ import annotations

import argparse
import logging
import sys

from service.config import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mcp", help="serve the MCP tools ask, search and get_article (stdio, or --http)")
    p.add_argument("--collection")
    p.add_argument("--http", action="store_true", help="streamable HTTP at /mcp instead of stdio")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_mcp)


def cmd_mcp(args, settings: Settings) -> int:
    from service.collections import Collections
    from service.components import Components

    # stdout carries the protocol: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    components = Components.build(settings, collection=args.collection)
    collections = Collections(components)
    if not args.http:
        from service.mcp import build_server

        build_server(collections).run("stdio")
        return 0
    import uvicorn
    from starlette.applications import Starlette

    from service.access import Door
    from service.cli.commands import is_loopback, refuse_without_keys
    from service.mcp.http import mount_mcp

    host = args.host or settings.host
    # The API's rule: a loopback server with no keys is open; elsewhere, keys are required.
    required = not is_loopback(host)
    if required:
        refuse_without_keys(settings, components, host)
    app = Starlette()
    mount_mcp(app, collections, host=host, door=Door.from_settings(settings, components.client, required=required))
    uvicorn.run(app, host=host, port=args.port or settings.port, log_level="info")
    return 0
