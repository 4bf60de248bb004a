"""One MCP session with a hop, bound to one token (or to none), kept open across turns.

A session is opened by the first turn that needs it and then reused by every later turn of the
same token, so a steady turn that calls one tool makes one request (``tools/call``). It never
carries another token (its HTTP client's headers are fixed), and it ends by itself when its token
expires (``exp``, less a margin), when nobody used it for ``idle_seconds``, or when a request on it
failed. Opening negotiates the protocol: a ``server/discover`` probe (MCP 2026-07-28, stateless:
a new token costs discover + tools/list before its call) and, for a server that answers it as a
handshake-era server does, the ``initialize`` handshake (remembered per hop, so later sessions skip
the probe). A rejected token (401/403) or a server error (5xx) is a failure, never a protocol
verdict.

The session's contexts live in one owner task (anyio requires enter and exit in the same task);
closing happens in that task, in the background, and is cut off after the hop's timeout.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING

import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import LATEST_MODERN_VERSION, MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from mcp_client.errors import HopError, describe

if TYPE_CHECKING:
    from mcp_client.client import McpHop

logger = logging.getLogger(__name__)

EXPIRY_MARGIN_SECONDS = 5.0  # a session ends this long before its token expires


class PooledSession:
    """An MCP session bound to `token` (None: no credential), shared by that token's turns."""

    def __init__(self, hop: McpHop, key: str, token: str | None, expires_at: float | None) -> None:
        self.hop = hop
        self.key = key  # the token's fingerprint (or the anonymous key): never the token
        self._token = token
        self.expires_at = expires_at  # the token's exp (epoch seconds), if known
        self.leases = 0  # turns currently using it
        self.last_used = time.monotonic()
        self.pooled = True  # False: used by one turn, closed after it (the pool was full)
        self.broken = False
        self.server_error = False  # a 5xx was seen (an outage, not a refusal)
        self.refused = False  # a 401/403 was seen (the token was rejected)
        self._ready: asyncio.Future[ClientSession] | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def expired(self) -> bool:
        """True once the token is about to expire: no new turn may use the session."""
        return self.expires_at is not None and time.time() >= self.expires_at - EXPIRY_MARGIN_SECONDS

    def open(self) -> asyncio.Future[ClientSession]:
        """The session, opening it in its owner task on first call (await it with a bound)."""
        if self._ready is None:
            loop = asyncio.get_running_loop()
            self._ready = ready = loop.create_future()
            # Nobody may be waiting when it fails (the wait already timed out): mark it retrieved.
            ready.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._owner = owner = loop.create_task(self._own(ready))
            self.hop.acquire(owner)
        return self._ready

    def stop(self) -> None:
        """End the session in the background; a peer that never lets go is cut off after the timeout."""
        owner = self._owner
        self._stop.set()
        if owner is None or owner.done():
            return
        if self.broken:
            owner.cancel()
            return
        handle = asyncio.get_running_loop().call_later(self.hop.limits.timeout_seconds, owner.cancel)
        owner.add_done_callback(lambda _: handle.cancel())

    def saw_status(self, status: int) -> None:
        """Note an HTTP status of this session (the MCP client reports every HTTP error alike)."""
        self.server_error = self.server_error or status >= 500
        self.refused = self.refused or status in (401, 403)

    async def _own(self, ready: asyncio.Future[ClientSession]) -> None:
        owner = self._owner
        assert owner is not None
        try:
            http = self.hop.http_client(self._token, self.saw_status)
            async with (
                streamable_http_client(self.hop.url, http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await self._negotiate(session)
                ready.set_result(session)
                await self._serve()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(HopError("could not open a session"))
                self.hop.note_failure(exc, self.server_error)
                logger.warning("%s session failed to open: %s", self.hop.name, describe(exc))
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.hop.forget(self)
            self.hop.release(owner)

    async def _negotiate(self, session: ClientSession) -> None:
        if self.hop.handshake_era:
            await session.initialize()
            return
        try:
            result = types.DiscoverResult.model_validate(await session.send_discover(LATEST_MODERN_VERSION))
        except (MCPError, ValidationError):
            if self.refused or self.server_error:
                raise  # a rejected token or an outage says nothing about the protocol
            result = None
        if result is None or not set(result.supported_versions) & set(MODERN_PROTOCOL_VERSIONS):
            await session.initialize()  # a handshake-era server
            self.hop.handshake_era = True
            return
        session.adopt(result)

    async def _serve(self) -> None:
        """Wait until stopped, expired, or idle with no turn using it."""
        while not self._stop.is_set():
            idle_left = self.last_used + self.hop.limits.idle_seconds - time.monotonic()
            hard_left = self.expires_at - time.time() if self.expires_at is not None else math.inf
            soft_left = hard_left - EXPIRY_MARGIN_SECONDS  # past it: no new turn, end once unused
            if hard_left <= 0 or ((soft_left <= 0 or idle_left <= 0) and self.leases == 0):
                return
            idle_wait = idle_left if idle_left > 0 else self.hop.limits.idle_seconds
            wait = max(0.05, min(idle_wait, soft_left if soft_left > 0 else hard_left))
            try:
                await asyncio.wait_for(self._stop.wait(), wait)
            except asyncio.TimeoutError:
                continue
