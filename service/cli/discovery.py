"""Where a running `newsdesk serve` leaves its address, and how the CLI finds it.

`serve` writes `serve.json` beside the index it answers from (under NEWSDESK_INDEX_DIR; one
file per Chroma server when NEWSDESK_CHROMA_HOST is set) once it listens, and removes it at
exit. `ingest`, `delete`, `watch` and `ask` read it and go through that server's HTTP API:
an embedded Chroma keeps each process's vector index in memory, so a write made by another
process would reach the server's lexical index but not its dense one (docs/cli.md).

A file can outlive its server (SIGKILL, a crash): it counts only while its process is alive
and the address answers `/healthz`; a file whose process is gone is removed by the next
reader. The file holds no secret (mode 0600 all the same): a server that requires keys is
reached with NEWSDESK_API_KEY.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service.config import Settings

FILE_NAME = "serve.json"
PROBE_TIMEOUT_S = 5.0  # /healthz answers in milliseconds, even under load
# The standard library's HTTP client (httpx takes a third of a second to import, for its own
# CLI), never through a proxy: the server is on this machine.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class RunningServer:
    url: str  # http://127.0.0.1:8000, without a trailing slash
    pid: int


def server_file(settings: Settings) -> Path:
    """The file a `serve` on this store writes: the embedded index's, or one per Chroma server."""
    if settings.chroma_host:
        return Path(settings.index_dir) / f"serve-{settings.chroma_host}-{settings.chroma_port}.json"
    return Path(settings.index_dir) / FILE_NAME


def local_url(host: str, port: int) -> str:
    """The address this machine's CLI (and the user's browser) reaches a server bound to
    `host` at: a wildcard address (0.0.0.0, ::) is reached on loopback."""
    host = host.strip("[]")
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def announce(settings: Settings, url: str) -> Callable[[], None]:
    """Write this process's address beside the index; returns what removes it again (only
    while it is still this process's: a later `serve` may have replaced it)."""
    path = server_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    tmp = path.with_name(f".{path.name}.{pid}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"url": url, "pid": pid}, handle)
    tmp.replace(path)

    def withdraw() -> None:
        if (found := _read(path)) is not None and found.pid == pid:
            path.unlink(missing_ok=True)

    return withdraw


def find_server(settings: Settings) -> RunningServer | None:
    """The `serve` answering from this index, or None: no file, its process gone, or its
    address refusing connections."""
    path = server_file(settings)
    found = _read(path)
    if found is None:
        return None
    if not _alive(found.pid):
        path.unlink(missing_ok=True)  # a killed server's leftover
        return None
    try:
        with OPENER.open(f"{found.url}/healthz", timeout=PROBE_TIMEOUT_S) as response:
            healthy = response.status == 200
    except (OSError, ValueError):  # refused, timed out, or not HTTP at all (URLError is an OSError)
        healthy = False
    return found if healthy else None


def _read(path: Path) -> RunningServer | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunningServer(url=str(data["url"]).rstrip("/"), pid=int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
