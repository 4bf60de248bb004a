"""Run an ASGI app on 127.0.0.1 with uvicorn, in the foreground or in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening-ready socket on 127.0.0.1 (port 0: any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _server(app: Any) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))


def serve_forever(app: Any, port: int, announce: Callable[[int], None]) -> None:
    """Listen, `announce` the real port, then serve until SIGINT/SIGTERM.

    Connections wait in the backlog until uvicorn accepts them, so a readiness file written by
    `announce` is already true.
    """
    sock = bind_loopback(port)
    sock.listen(2048)
    announce(sock.getsockname()[1])
    serve_on(app, sock)


def serve_on(app: Any, sock: socket.socket) -> None:
    """Serve on an already bound socket until SIGINT/SIGTERM."""
    _server(app).run(sockets=[sock])


class BackgroundServer:
    """Serves an app from a daemon thread; use as a context manager (tests, local stack)."""

    def __init__(self, app: Any, port: int = 0) -> None:
        self._sock = bind_loopback(port)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = _server(app)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name=f"uvicorn-{self.port}",
        )

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        """Start serving; wait until uvicorn has started (`timeout` seconds at most)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread (10 s at most)."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
