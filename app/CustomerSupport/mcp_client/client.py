"""MCP hops (the gateway, the web search server): streamable HTTP as coroutines on the app's loop.

One machinery serves every hop; what differs is the spec (``mcp_client.spec.HopSpec``), above all
its credential rule. A ``Credential.CALLER_TOKEN`` hop binds each turn to the caller's token; a
``Credential.NONE`` hop sends no Authorization header, no cookie and nothing else of the caller's,
whatever the turn.

- One pooled HTTP transport per hop and event loop is shared by every caller; connections idle
  for ``idle_seconds`` are closed (the whole pool is dropped once nothing used it for that long).
- Each turn that needs a hop gets its own MCP session (``HopTurn``) whose HTTP client is bound to
  that turn's token: every request of the session carries exactly this token, and no client-wide
  state a concurrent turn could reuse exists.
- Every wait (connect, initialize, tools/list, tools/call) is taken from one per-turn budget of
  ``timeout_seconds``; closing happens in the background and never blocks a request.
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
from typing import Any

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import PaginatedRequestParams
from mcp.types import Tool as MCPTool
from strands.types.tools import ToolResult

from mcp_client.spec import Credential, HopSpec
from mcp_client.status import fingerprint

logger = logging.getLogger(__name__)

ANONYMOUS = "anonymous"  # the listing-cache key of a hop that carries no credential
MAX_TOOL_PAGES = 20  # a server that pages forever must not hold a turn


class HopError(Exception):
    """The hop could not serve this turn (the caller only ever hears "unavailable")."""


class McpHop:
    """The process-wide side of a hop: pooled transport, listing cache, outage back-off."""

    def __init__(self, spec: HopSpec) -> None:
        if spec.url is None:
            raise ValueError(f"the {spec.name} hop has no URL")
        self.spec = spec
        self.url = spec.url
        self.limits = spec.limits
        self.name = spec.name
        self._transport: httpx2.AsyncHTTPTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active = 0
        self._last_used = time.monotonic()
        self._reaper: asyncio.Task[None] | None = None
        self._owners: set[asyncio.Task[None]] = set()
        self._tools: OrderedDict[str, tuple[float, list[MCPTool]]] = OrderedDict()
        self._down_until = 0.0

    # -- per turn ---------------------------------------------------------------------------------
    def turn(self, token: str | None, subject: str | None = None) -> HopTurn:
        """An unopened MCP session bound to `token` (verified sub: `subject`) or to no credential."""
        carries = self.spec.credential is Credential.CALLER_TOKEN
        if token is not None and not carries:
            raise ValueError(f"the {self.name} hop never carries a caller's token")
        if token is None and carries:
            raise ValueError(f"the {self.name} hop needs the caller's token")
        return HopTurn(self, token, subject if carries else None)

    @property
    def backing_off(self) -> bool:
        """True while a recent outage keeps the hop from being tried."""
        return time.monotonic() < self._down_until

    def note_failure(self, exc: BaseException, server_error: bool = False) -> None:
        """Back off after outages (timeouts, transport errors, 5xx); a rejected token is not one."""
        if server_error or _is_outage(exc):
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
        # A new client per turn: its cookie jar starts empty, so nothing carries over between turns.
        return httpx2.AsyncClient(
            transport=self._transport,
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
                self._transport = self._reaper = None
            return
        await self._close_here()

    async def _close_here(self) -> None:
        for owner in list(self._owners):
            owner.cancel()
        if self._owners:
            await asyncio.wait(list(self._owners), timeout=self.limits.timeout_seconds)
        if self._reaper is not None:
            self._reaper.cancel()
        await self._drop_transport()


class HopTurn:
    """One turn's MCP session with a hop, bound to that turn's token (or to none)."""

    def __init__(self, hop: McpHop, token: str | None, subject: str | None = None) -> None:
        self._hop = hop
        self._token = token
        self.subject = subject  # the verified sub of `token`: what identity arguments are set to
        self.token_fingerprint = fingerprint(token) if token is not None else ANONYMOUS
        self._budget = hop.limits.timeout_seconds
        self._failed = False
        self._lock = asyncio.Lock()
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._server_error = False

    def _saw_status(self, status: int) -> None:
        if status >= 500:
            self._server_error = True

    async def tools(self) -> list[MCPTool]:
        """The tools the hop lists for this token (cached per token)."""
        cached = self._hop.cached_tools(self.token_fingerprint)
        if cached is not None:
            return cached
        session = await self._open()
        tools: list[MCPTool] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await self._bounded(session.list_tools(params=params))
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        self._hop.store_tools(self.token_fingerprint, tools)
        return tools

    async def call_tool(self, tool_use_id: str, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call one of the hop's tools; HopError when the hop fails or the budget runs out."""
        session = await self._open()
        result = await self._bounded(session.call_tool(name, arguments))
        content = [{"text": block.text} for block in result.content if getattr(block, "type", None) == "text"]
        status = "error" if result.is_error else "success"
        return {"toolUseId": tool_use_id, "status": status, "content": content}  # type: ignore[typeddict-item]

    def close(self) -> None:
        """End the session in the background; a peer that never lets go is cut off after the timeout."""
        owner = self._owner
        if owner is None or owner.done():
            return
        if self._failed:
            owner.cancel()
            return
        self._stop.set()
        handle = asyncio.get_running_loop().call_later(self._hop.limits.timeout_seconds, owner.cancel)
        owner.add_done_callback(lambda _: handle.cancel())

    # -- internals ----------------------------------------------------------------------------------
    async def _open(self) -> ClientSession:
        async with self._lock:
            if self._session is not None:
                return self._session
            if self._failed or self._hop.backing_off:
                raise HopError("hop unavailable")
            loop = asyncio.get_running_loop()
            ready: asyncio.Future[ClientSession] = loop.create_future()
            # Nobody may be waiting when it fails (the wait already timed out): mark it retrieved.
            ready.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._owner = loop.create_task(self._own(ready))
            self._hop.acquire(self._owner)
            self._session = await self._bounded(asyncio.shield(ready))
            return self._session

    async def _own(self, ready: asyncio.Future[ClientSession]) -> None:
        """Hold the session's contexts in one task (anyio requires enter and exit in the same task)."""
        assert self._owner is not None
        owner = self._owner
        try:
            http = self._hop.http_client(self._token, self._saw_status)
            async with (
                streamable_http_client(self._hop.url, http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                ready.set_result(session)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(HopError("could not open a session"))
                self._hop.note_failure(exc, self._server_error)
                logger.warning("%s session failed to open: %s", self._hop.name, _describe(exc))
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._hop.release(owner)

    async def _bounded(self, awaitable: Any) -> Any:
        if self._failed:
            raise HopError("hop failed earlier in this turn")
        if self._budget <= 0:
            self._failed = True
            raise HopError("hop time budget spent")
        start = time.monotonic()
        try:
            return await asyncio.wait_for(awaitable, self._budget)
        except HopError:
            self._failed = True
            raise
        except Exception as exc:
            self._failed = True
            self._hop.note_failure(exc, self._server_error)
            raise HopError(_describe(exc)) from exc
        finally:
            self._budget -= time.monotonic() - start


def _status_hook(on_status: Callable[[int], None]) -> Callable[[httpx2.Response], Awaitable[None]]:
    async def hook(response: httpx2.Response) -> None:
        on_status(response.status_code)

    return hook


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc`, its causes and the members of exception groups (anyio task groups wrap errors)."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        stack.extend(getattr(current, "exceptions", ()))
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return seen


def _is_outage(exc: BaseException) -> bool:
    for cause in _causes(exc):
        if isinstance(cause, (TimeoutError, asyncio.TimeoutError, httpx2.TransportError, OSError)):
            return True
        if isinstance(cause, httpx2.HTTPStatusError) and cause.response.status_code >= 500:
            return True
    return False


def _describe(exc: BaseException) -> str:
    """A log line naming the failure's types only (exception text may carry request details)."""
    names = [type(c).__name__ for c in _causes(exc) if not isinstance(c, asyncio.CancelledError)]
    return ", ".join(dict.fromkeys(names)) or type(exc).__name__
