"""The reading page at `/`: plain HTML, JavaScript and CSS, no build step.

An edge of its own: it serves static files and talks to the API over HTTP from the browser
(`POST /v1/ask` as Server-Sent Events, `GET /v1/articles/{id}`, `POST /v1/feedback`), so it
imports nothing of `service.api`. The CLI, where edges meet, includes `router` in the
API's app (`newsdesk serve`). See docs/web.md.
"""

from service.web.page import router

__all__ = ["router"]
