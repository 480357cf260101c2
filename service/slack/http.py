"""HTTP Events mode: `POST /slack/events` on the API's FastAPI app, or served alone.

One route takes everything Slack sends over HTTP (events, the `/ask` command, button
clicks). Bolt verifies the signature (401 for a wrong one or a timestamp more than five
minutes old; a missing or non-numeric timestamp is refused with 401 before Bolt, which
would fail on it with a 500), acks, and leaves the answering to its worker threads. The dispatch itself
runs in a worker thread too, so the event loop keeps serving the API meanwhile.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from service.collections import Collections
from service.components import Components
from service.config import Settings
from service.slack.app import NewsdeskBot

EVENTS_PATH = "/slack/events"


def mount_slack(app: FastAPI, settings: Settings, components: Components, *, bot: NewsdeskBot | None = None,
                collections: Collections | None = None, path: str = EVENTS_PATH) -> NewsdeskBot:
    """Add `POST /slack/events` to `app`; returns the bot (also at `app.state.slack_bot`).
    `collections`: the API's, so both edges share each collection's engine.
    Raises `ConfigError` when the signing secret or the bot token is missing."""
    bot = bot or NewsdeskBot(settings, components, collections=collections)
    limit = settings.max_body_bytes

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        if len(body) > limit:
            return Response(status_code=413, content="request body too large")
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "").strip()
        if not (timestamp.isascii() and timestamp.isdigit()):
            return Response(status_code=401, content="missing or invalid X-Slack-Request-Timestamp")
        bolt_response = await run_in_threadpool(bot.app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    app.add_api_route(path, slack_events, methods=["POST"], include_in_schema=False, name="slack_events")
    app.state.slack_bot = bot
    return bot


def create_slack_server(settings: Settings, components: Components, *, bot: NewsdeskBot | None = None) -> FastAPI:
    """The bot alone: `POST /slack/events` and `GET /healthz`."""
    app = FastAPI(title="newsdesk Slack bot", docs_url=None, redoc_url=None, openapi_url=None)
    mount_slack(app, settings, components, bot=bot)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(settings: Settings, components: Components, *, host: str, port: int, bot: NewsdeskBot | None = None) -> None:
    import uvicorn

    uvicorn.run(create_slack_server(settings, components, bot=bot), host=host, port=port, log_level="info")
