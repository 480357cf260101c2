"""`newsdesk` command line. Errors are translated here, once: one line on stderr and exit
code 1 (set NEWSDESK_DEBUG=1 to get the traceback instead).

The CLI is the composition root: it may start any edge (the API, the Slack bot) and the
evals; nothing below it imports it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from service.cli.commands import (
    cmd_ask,
    cmd_delete,
    cmd_ingest,
    cmd_list,
    cmd_reindex,
    cmd_serve,
)
from service.config import get_settings
from service.errors import NewsdeskError

# -- parser -------------------------------------------------------------------------------------

def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--after", help="only articles published on/after this date (ISO 8601)")
    parser.add_argument("--before", help="only articles published before this date (ISO 8601)")
    parser.add_argument("--source", action="append", help="only this outlet (repeatable)")
    parser.add_argument("--article", action="append", help="only this article id (repeatable)")


CORE_COMMANDS = frozenset({"ingest", "list", "delete", "reindex", "ask", "serve"})


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; for one of the core commands in `argv`, only theirs: the other
    interfaces' modules (evals, Slack, MCP) take a quarter of a second to import, which
    `newsdesk ask` through a running server should not pay."""
    parser = argparse.ArgumentParser(prog="newsdesk", description="Grounded answers over news articles, with checkable citations.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index article files and folders (.txt .md .html .json .jsonl)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--collection")
    p.add_argument("--ray", action="store_true",
                   help="parse, chunk and embed on Ray (pip install 'newsdesk[ray]'): a new local Ray, or RAY_ADDRESS")
    p.add_argument("--ray-address", metavar="ADDRESS",
                   help="the Ray cluster to use (implies --ray): `auto`, HOST:PORT or ray://HOST:10001")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("list", help="list indexed articles")
    p.add_argument("--collection")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--after", metavar="ARTICLE_ID", help="the page after this article (the last id of the page before)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("delete", help="remove one article and all its chunks")
    p.add_argument("article_id")
    p.add_argument("--collection")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("reindex", help="rebuild the index with the configured embedder")
    p.add_argument("--collection")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("ask", help="ask a question; prints the answer with numbered citations")
    p.add_argument("question")
    p.add_argument("--json", action="store_true")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--collection")
    _add_filters(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="serve the HTTP API (indexes the sample corpus if the index is empty)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--collection")
    p.add_argument("--insecure-no-auth", action="store_true",
                   help="serve a non-loopback address without API keys (anyone who reaches it may change articles)")
    p.set_defaults(func=cmd_serve)
    if argv is not None and next((a for a in argv if not a.startswith("-")), None) in CORE_COMMANDS:
        return parser

    from service.cli.follow import register as register_follow
    from service.cli.keys import register as register_keys
    from service.cli.mcp import register as register_mcp
    from service.cli.watch import register as register_watch
    from service.evals import bench
    from service.evals.commands import register as register_eval
    from service.slack.runner import register as register_slack

    # Interfaces that live in their own modules register their subcommands here.
    bench.register(sub)
    register_slack(sub)
    register_mcp(sub)
    register_keys(sub)
    register_watch(sub)
    register_follow(sub)
    register_eval(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        settings = get_settings()
        return int(args.func(args, settings) or 0)
    except NewsdeskError as exc:
        if os.environ.get("NEWSDESK_DEBUG"):
            raise
        print(f"newsdesk: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("newsdesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `newsdesk ask ... | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # settings validation and the like: still one line
        from pydantic import ValidationError

        if os.environ.get("NEWSDESK_DEBUG") or not isinstance(exc, ValidationError):
            raise
        first = exc.errors()[0]
        print(f"newsdesk: error: setting {'.'.join(str(x) for x in first['loc'])}: {first['msg']}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
