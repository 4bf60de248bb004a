"""MCP hops (the gateway, the web search server): streamable HTTP as coroutines on the app's loop.

One machinery serves every hop; what differs is the spec (``mcp_client.spec.HopSpec``), above all
its credential rule. A ``Credential.CALLER_TOKEN`` hop binds each session to one caller's token; a
``Credential.NONE`` hop sends no Authorization header, no cookie and nothing else of the caller's,
whatever the turn.

- One pooled HTTP transport per hop and event loop is shared by every caller; connections idle
  for ``idle_seconds`` are closed (the whole pool is dropped once nothing used it for that long).
- MCP sessions are kept per token fingerprint (``session.PooledSession``, a bounded LRU of
  ``sessions_cache_size``): a steady turn reuses its token's session and makes one request per
  tool call; a session never carries two tokens and ends at its token's expiry or when idle.
- Each turn leases its token's session (``HopTurn``); every wait of the turn (connect, open,
  tools/list, tools/call) is taken from one per-turn budget of ``timeout_seconds``; closing
  happens in the background and never blocks a request. A failed request retires the session.
- After a timeout or transport failure the hop is skipped for ``retry_seconds`` (bounded retry
  rate), then the next turn tries again: recovery needs no restart.
- Tool listings are cached per token fingerprint (a listing is never shown to another token)
  for ``tools_ttl_seconds``, so turns of a known token list nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx2
from mcp.types import Tool as MCPTool

from mcp_client.errors import HopError, is_outage
from mcp_client.session import PooledSession
from mcp_client.spec import Credential, HopSpec
from mcp_client.status import ANONYMOUS, fingerprint
from mcp_client.turn import HopTurn

logger = logging.getLogger(__name__)

__all__ = ["HopError", "HopTurn", "McpHop"]


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing."""

    def set_cookie(self, cookie: Cookie) -> None:
        """Drop it."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Keep none of the response's cookies."""


class McpHop:
    """The process-wide side of a hop: pooled transport, listing cache, outage back-off."""

    def __init__(self, spec: HopSpec) -> None:
        if spec.url is None:
            raise ValueError(f"the {spec.name} hop has no URL")
        self.spec = spec
        self.url = spec.url
        self.limits = spec.limits
        self.name = spec.name
        self.handshake_era = False  # set once the server answered discover as a pre-2026 server
        self._sessions: OrderedDict[str, PooledSession] = OrderedDict()
        self._transport: httpx2.AsyncHTTPTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active = 0
        self._last_used = time.monotonic()
        self._reaper: asyncio.Task[None] | None = None
        self._owners: set[asyncio.Task[None]] = set()
        self._tools: OrderedDict[str, tuple[float, list[MCPTool]]] = OrderedDict()
        self._down_until = 0.0

    # -- per turn ---------------------------------------------------------------------------------
    def turn(self, token: str | None, subject: str | None = None, expires_at: float | None = None) -> HopTurn:
        """This turn's use of the hop, as `token` (verified sub `subject`, exp `expires_at`) or as no one."""
        carries = self.spec.credential is Credential.CALLER_TOKEN
        if token is not None and not carries:
            raise ValueError(f"the {self.name} hop never carries a caller's token")
        if token is None and carries:
            raise ValueError(f"the {self.name} hop needs the caller's token")
        return HopTurn(self, token, subject if carries else None, expires_at if carries else None)

    # -- sessions (one per token, bounded LRU) -----------------------------------------------------
    def lease(self, token: str | None, expires_at: float | None) -> PooledSession:
        """`token`'s session (a new one if it has none usable), counted as in use by one more turn."""
        key = fingerprint(token) if token is not None else ANONYMOUS
        session = self._sessions.get(key)
        if session is not None and (session.broken or session.expired):
            self.forget(session)
            session = None
        if session is None:
            session = self._sessions[key] = PooledSession(self, key, token, expires_at)
            self._evict(keep=session)
        else:
            self._sessions.move_to_end(key)
        session.leases += 1
        session.last_used = time.monotonic()
        return session

    def give_back(self, session: PooledSession, failed: bool) -> None:
        """A turn is done with `session`; a failed request retires it (no new turn gets it)."""
        session.leases -= 1
        session.last_used = time.monotonic()
        if failed:
            session.broken = True
            self.forget(session)
        if session.leases == 0 and (session.broken or not session.pooled or session.expired):
            session.stop()

    def forget(self, session: PooledSession) -> None:
        """Take `session` out of the pool (if it is still the one there)."""
        if self._sessions.get(session.key) is session:
            del self._sessions[session.key]

    def _evict(self, keep: PooledSession) -> None:
        # Least recently used first, never one a turn is using; if all are in use, `keep` serves
        # its turn unpooled, so the pool never holds more than its bound.
        while len(self._sessions) > self.limits.sessions_cache_size:
            idle = next((s for s in self._sessions.values() if s.leases == 0 and s is not keep), None)
            victim = idle or keep
            self.forget(victim)
            if victim is keep:
                keep.pooled = False
                return
            victim.stop()

    @property
    def backing_off(self) -> bool:
        """True while a recent outage keeps the hop from being tried."""
        return time.monotonic() < self._down_until

    def note_failure(self, exc: BaseException, server_error: bool = False) -> None:
        """Back off after outages (timeouts, transport errors, 5xx); a rejected token is not one."""
        if server_error or is_outage(exc):
            self._down_until = time.monotonic() + self.limits.retry_seconds

    def cached_tools(self, token_fingerprint: str) -> list[MCPTool] | None:
        """The listing this token got recently, if any."""
        hit = self._tools.get(token_fingerprint)
        if hit is None or time.monotonic() - hit[0] > self.limits.tools_ttl_seconds:
            self._tools.pop(token_fingerprint, None)
            return None
        self._tools.move_to_end(token_fingerprint)
        return hit[1]

    def store_tools(self, token_fingerprint: str, tools: list[MCPTool]) -> None:
        """Remember a token's listing (bounded LRU)."""
        self._tools[token_fingerprint] = (time.monotonic(), tools)
        self._tools.move_to_end(token_fingerprint)
        while len(self._tools) > self.limits.tools_cache_size:
            self._tools.popitem(last=False)

    # -- transport ----------------------------------------------------------------------------------
    def http_client(self, token: str | None, on_status: Callable[[int], None]) -> httpx2.AsyncClient:
        """A client on the shared pool whose every request carries `token` (or no credential)."""
        loop = asyncio.get_running_loop()
        if self._transport is None or self._loop is not loop:
            self._transport = httpx2.AsyncHTTPTransport(
                trust_env=False,
                limits=httpx2.Limits(
                    max_connections=self.limits.max_connections,
                    max_keepalive_connections=self.limits.max_connections,
                    keepalive_expiry=self.limits.idle_seconds,
                ),
            )
            self._loop = loop
        # Never closed: closing a client closes its transport, which is shared. It owns nothing else.
        # A session outlives turns (and, on a no-credential hop, serves every caller): it keeps no
        # cookie, so nothing a server sets can carry over from one turn or caller to the next.
        return httpx2.AsyncClient(
            transport=self._transport,
            cookies=_NoCookies(),
            headers={"Authorization": f"Bearer {token}"} if token is not None else {},
            timeout=httpx2.Timeout(self.limits.timeout_seconds),
            follow_redirects=False,  # the token goes to the hop's URL and nowhere else
            trust_env=False,  # no proxy or .netrc credentials from the environment
            # The MCP client reports every HTTP error alike; the status tells outage from refusal.
            event_hooks={"response": [_status_hook(on_status)]},
        )

    def acquire(self, owner: asyncio.Task[None]) -> None:
        """Count a live MCP session (the idle reaper leaves the pool alone while any is open)."""
        self._active += 1
        self._owners.add(owner)

    def release(self, owner: asyncio.Task[None]) -> None:
        """A session ended; start the idle reaper if it is not running."""
        self._active -= 1
        self._owners.discard(owner)
        self._last_used = time.monotonic()
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def _reap(self) -> None:
        while self._transport is not None:
            # Wake when the pool would have been idle long enough since its last use (sessions
            # still open: check again one idle time later).
            due = self._last_used + self.limits.idle_seconds - time.monotonic()
            await asyncio.sleep(self.limits.idle_seconds if self._active else max(0.05, due))
            if self._active == 0 and time.monotonic() - self._last_used >= self.limits.idle_seconds:
                await self._drop_transport()

    async def _drop_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(transport.aclose(), self.limits.timeout_seconds)

    async def aclose(self) -> None:
        """Stop every session and close the pool; bounded by the timeout, callable from any loop."""
        loop = self._loop
        if loop is not None and loop is not asyncio.get_running_loop():
            if loop.is_running():
                # The sessions and the pool belong to the loop that served the turns (the SDK's
                # worker loop); a shutdown hook on the server's loop hands the work over, bounded.
                future = asyncio.run_coroutine_threadsafe(self._close_here(), loop)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.wrap_future(future), self.limits.timeout_seconds + 1)
            else:  # that loop is gone, and with it its sockets and tasks: only forget them
                self._owners.clear()
                self._sessions.clear()
                self._transport = self._reaper = None
            return
        await self._close_here()

    async def _close_here(self) -> None:
        self._sessions.clear()
        for owner in list(self._owners):
            owner.cancel()
        if self._owners:
            await asyncio.wait(list(self._owners), timeout=self.limits.timeout_seconds)
        if self._reaper is not None:
            self._reaper.cancel()
        await self._drop_transport()


def _status_hook(on_status: Callable[[int], None]) -> Callable[[httpx2.Response], Awaitable[None]]:
    async def hook(response: httpx2.Response) -> None:
        on_status(response.status_code)

    return hook
