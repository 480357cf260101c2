"""Serves the page and its assets (the stylesheet and the JavaScript modules), with headers
that keep article text inert.

The page builds every piece of article and answer text as DOM text nodes; the Content
Security Policy backs that up: scripts and styles only from this origin, no inline code,
no framing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
# A module script runs only when served with a JavaScript type.
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# Only the files shipped beside the page, by name: nothing a request spells reaches the disk.
ASSETS = {path.name: MEDIA_TYPES[path.suffix] for path in sorted(STATIC_DIR.iterdir()) if path.suffix in MEDIA_TYPES}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate: a new release shows at once
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/web/{name}")
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404)
    return FileResponse(STATIC_DIR / name, media_type=ASSETS[name], headers=HEADERS)
