"""How `newsdesk serve` listens: its port is bound before anything slow (a taken port is one
line at once, not an `[Errno 98]` in the JSON logs after the sample corpus is indexed); once
it answers, it prints "open http://HOST:PORT/" and leaves its address beside the index for
the CLI (service/cli/discovery.py), removed again when it stops."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

import uvicorn

from service.cli.discovery import announce, local_url
from service.config import Settings
from service.errors import NewsdeskError


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), not yet listening: uvicorn listens on it once the app
    is ready, so until then a client is refused rather than left waiting."""
    address = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart over TIME_WAIT
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise NewsdeskError(f"port {port} on {host} is already in use (another newsdesk serve?): choose another "
                                f"with --port N (make serve PORT=N), or stop what holds it") from None
        raise NewsdeskError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server, calling `on_started` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]):
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self.on_started()


def run_server(app, sock: socket.socket, settings: Settings, host: str) -> None:
    """Serve `app` on `sock` until stopped, announced while it runs."""
    url = local_url(host, sock.getsockname()[1])
    withdrawn: list[Callable[[], None]] = []

    def started() -> None:
        withdrawn.append(announce(settings, url))
        print(f"open {url}/", flush=True)

    # newsdesk's JSON lines only: its own access line per request, each traceback once.
    config = uvicorn.Config(app, log_config=None, access_log=False)
    try:
        _AnnouncingServer(config, started).run(sockets=[sock])
    finally:
        for withdraw in withdrawn:
            withdraw()
        sock.close()
