"""`newsdesk slack`: run the bot in Socket Mode or HTTP Events mode, and export feedback.

    newsdesk slack                    Socket Mode when NEWSDESK_SLACK_APP_TOKEN is set,
                                      otherwise HTTP Events at http://HOST:PORT/slack/events
    newsdesk slack --http             HTTP Events even when an app token is set
    newsdesk slack --socket           Socket Mode (fails without an app token)
    newsdesk slack feedback-export --out cases.jsonl   every vote, the reading page's included
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from service.config import Settings
from service.errors import ConfigError
from service.slack.logs import SECRETS, bot_logger

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from service.slack.app import NewsdeskBot

log = bot_logger()


def choose_mode(settings: Settings, *, socket: bool = False, http: bool = False) -> str:
    if socket and http:
        raise ConfigError("choose one of --socket and --http")
    if http:
        return "http"
    if settings.slack_app_token is not None:
        return "socket"
    if socket:
        # Imported here: the CLI loads no Slack SDK until a Slack command runs.
        from service.slack.connection import NO_APP_TOKEN

        raise ConfigError(NO_APP_TOKEN)
    return "http"


def socket_mode_handler(bot: NewsdeskBot, settings: Settings) -> SocketModeHandler:
    """A Bolt Socket Mode handler for `bot`; `.start()` blocks, `.connect()` does not."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from service.slack.connection import app_token, web_client

    token = app_token(settings)
    SECRETS.learn([token])
    return SocketModeHandler(bot.app, token, logger=bot_logger(), web_client=web_client(settings))


def cmd_slack(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from service.collections import Collections
    from service.components import Components
    from service.follows.running import FollowsOnDemand
    from service.ingest.run import ensure_sample_corpus
    from service.slack.app import NewsdeskBot
    from service.slack.connection import check_settings, verify_token
    from service.slack.notices import slack_notifiers

    mode = choose_mode(settings, socket=args.socket, http=args.http)
    check_settings(settings, http=mode == "http")
    identity = verify_token(settings)
    log.info("connected to Slack as %s in %s", identity.get("user", "?"), identity.get("team", "?"))
    components = Components.build(settings, collection=args.collection)
    collections = Collections(components)
    # The bot alone also sends its follows' notices (a `serve` without Slack leaves them to it).
    follows = FollowsOnDemand(settings, collections, notifiers=slack_notifiers(settings), run=True)
    bot = NewsdeskBot(settings, components, collections=collections, follows=follows,
                      require_signing_secret=mode == "http")
    ensure_sample_corpus(bot.components, Console())
    if mode == "socket":
        print("newsdesk slack: Socket Mode (no public URL needed); Ctrl-C to stop")
        socket_mode_handler(bot, settings).start()
        return 0
    from service.slack.http import EVENTS_PATH, serve

    host, port = args.host or settings.host, args.port or settings.port
    print(f"newsdesk slack: HTTP Events at http://{host}:{port}{EVENTS_PATH}")
    serve(settings, bot.components, host=host, port=port, bot=bot)
    return 0


def cmd_feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from service.feedback import export_cases
    from service.index.client import open_client

    client = open_client(
        index_dir=settings.index_dir, host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl
    )
    count = export_cases(client, args.out)
    print(f"wrote {count} feedback case(s) to {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("slack", help="run the Slack bot (Socket Mode or HTTP Events at /slack/events)")
    p.add_argument("--socket", action="store_true", help="Socket Mode (the default when NEWSDESK_SLACK_APP_TOKEN is set)")
    p.add_argument("--http", action="store_true", help="serve HTTP Events even when an app token is set")
    p.add_argument("--host", help="HTTP Events: interface to bind (default NEWSDESK_HOST)")
    p.add_argument("--port", type=int, help="HTTP Events: port (default NEWSDESK_PORT)")
    p.add_argument("--collection", help="the default collection to answer from")
    p.set_defaults(func=cmd_slack)
    actions = p.add_subparsers(dest="slack_command", metavar="{feedback-export}")
    e = actions.add_parser("feedback-export", help="write readers' 👍/👎 (Slack and the reading page) as eval cases (JSONL)")
    e.add_argument("--out", required=True, type=Path, help="the .jsonl file to write")
    e.set_defaults(func=cmd_feedback_export)
