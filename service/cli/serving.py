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

BACKLOG = 2048  # uvicorn's default


def bind(host: str, port: int) -> socket.socket:
    """A socket listening on (host, port). It listens at once: two sockets merely bound with
    SO_REUSEADDR may share a port until one listens, so a second `serve` would only fail
    later, inside uvicorn. Connections made before the app is ready wait in the backlog."""
    address = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart over TIME_WAIT
    try:
        sock.bind((address, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise NewsdeskError(f"port {port} on {host} is already in use (another newsdesk serve?): choose another "
                                f"with --port N (make serve PORT=N), or stop what holds it") from None
        raise NewsdeskError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server, announced beside the index while it accepts connections. The address
    is withdrawn as shutdown begins: after a SIGTERM uvicorn raises the signal again once it
    is done, which ends the process before any code after `run()`."""

    def __init__(self, config: uvicorn.Config, settings: Settings, url: str):
        super().__init__(config)
        self.settings = settings
        self.url = url
        self.withdraw: Callable[[], None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self.withdraw = announce(self.settings, self.url)
            print(f"open {self.url}/", flush=True)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.stop_announcing()
        await super().shutdown(sockets=sockets)

    def stop_announcing(self) -> None:
        if self.withdraw is not None:
            self.withdraw()
            self.withdraw = None


def run_server(app, sock: socket.socket, settings: Settings, host: str) -> None:
    """Serve `app` on `sock` until stopped, announced while it runs."""
    # newsdesk's JSON lines only: its own access line per request, each traceback once.
    config = uvicorn.Config(app, log_config=None, access_log=False)
    server = _AnnouncingServer(config, settings, local_url(host, sock.getsockname()[1]))
    try:
        server.run(sockets=[sock])
    finally:  # a failed start-up, or an exception out of the loop
        server.stop_announcing()
        sock.close()
