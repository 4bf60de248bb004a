"""A gateway that misbehaves on purpose, for fault-injection tests and benchmarks.

``FaultyGateway`` wraps the real local gateway (JWT-checked MCP over streamable HTTP) in an ASGI
layer that, per JSON-RPC method, can hang, answer 401/500, or answer garbage. ``BlackHole`` is a
port that completes the TCP handshake and then never reads or answers (a peer hung at connect).
Hung requests are released when the server stops, so tests never leak stuck threads.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FAULTS = ("hang", "401", "500", "garbage", "unknown-method")
# How a handshake-era (pre-2026-07-28) MCP server answers a method it does not know, such as the
# `server/discover` probe: a JSON-RPC error, so the client falls back to `initialize`.
METHOD_NOT_FOUND = {"code": -32601, "message": "Method not found"}


@dataclass
class FaultyGateway:
    """ASGI wrapper that injects faults in front of the real gateway.

    `faults` maps a JSON-RPC method ("server/discover", "initialize", "tools/list", "tools/call")
    or "*" to one of FAULTS; everything else reaches the real gateway. With `session_ids` the
    layer acts as a stateful handshake-era server: it also answers `server/discover` with
    "unknown-method".
    """

    inner: ASGIApp
    faults: dict[str, str] = field(default_factory=dict)
    methods: Counter[str] = field(default_factory=Counter)  # every POSTed JSON-RPC method seen
    http_requests: int = 0  # every HTTP request of any kind
    hanging: int = 0  # requests currently held
    # Act stateful: hand out an Mcp-Session-Id (so clients end sessions with DELETE, which this
    # layer answers) while the stateless gateway behind it never sees the header.
    session_ids: bool = False
    _release: threading.Event = field(default_factory=threading.Event)
    _waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def release(self) -> None:
        """Let every hung request finish (with 503) and stop hanging new ones."""
        with self._lock:
            self._release.set()
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def _hang(self) -> None:
        """Wait, without polling (benchmarks run in this process), until release()."""
        event = asyncio.Event()
        with self._lock:
            if self._release.is_set():
                return
            self._waiters.append((asyncio.get_running_loop(), event))
        await event.wait()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        self.http_requests += 1
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        method = _method(body) if scope["method"] == "POST" else scope["method"]
        self.methods[method] += 1
        fault = self.faults.get(method) or self.faults.get("*")
        if fault is None and self.session_ids and method == "server/discover":
            fault = "unknown-method"
        if fault == "hang" and not self._release.is_set():
            self.hanging += 1
            try:
                await self._hang()
            finally:
                self.hanging -= 1
            await _respond(send, 503, b"released", "text/plain")
        elif fault in ("401", "500"):
            await _respond(send, int(fault), json.dumps({"error": "injected"}).encode(), "application/json")
        elif fault == "garbage":
            await _respond(send, 200, b"\x00\xffnot json {{{", "application/json")
        elif fault == "unknown-method":
            answer = {"jsonrpc": "2.0", "id": _request_id(body), "error": METHOD_NOT_FOUND}
            await _respond(send, 200, json.dumps(answer).encode(), "application/json")
        elif method == "DELETE" and self.session_ids:
            await _respond(send, 200, b"", "text/plain")
        elif self.session_ids:
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"mcp-session-id"]
            await self.inner({**scope, "headers": headers}, _replay(body, receive), _with_session_id(send))
        else:
            await self.inner(scope, _replay(body, receive), send)


def _with_session_id(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"mcp-session-id", uuid.uuid4().hex.encode())]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def _method(body: bytes) -> str:
    try:
        message = json.loads(body)
    except ValueError:
        return "?"
    return str(message.get("method", "response")) if isinstance(message, dict) else "batch"


def _request_id(body: bytes) -> object:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    return message.get("id") if isinstance(message, dict) else None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # disconnect detection

    return replay


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BlackHole:
    """A listening port that never accepts: connects complete, nothing is ever read or answered."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(512)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
