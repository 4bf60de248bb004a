"""One turn's use of a hop: its token's pooled session, leased on first need, and one time budget.

Every wait of the turn (opening the session, tools/list, tools/call) comes out of one budget of
the hop's ``timeout_seconds``; the first failure ends the hop for this turn and retires the
session it used (``McpHop.give_back``), so the token's next turn opens a fresh one.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from mcp.client.session import ClientSession
from mcp.types import PaginatedRequestParams
from mcp.types import Tool as MCPTool
from strands.types.tools import ToolResult

from mcp_client.errors import HopError, describe
from mcp_client.status import ANONYMOUS, fingerprint

if TYPE_CHECKING:
    from mcp_client.client import McpHop
    from mcp_client.session import PooledSession

MAX_TOOL_PAGES = 20  # a server that pages forever must not hold a turn


class HopTurn:
    """One turn's use of a hop: its token's session (leased on first need) and its time budget."""

    def __init__(
        self, hop: McpHop, token: str | None, subject: str | None = None, expires_at: float | None = None
    ) -> None:
        self._hop = hop
        self._token = token
        self.subject = subject  # the verified sub of `token`: what identity arguments are set to
        self._expires_at = expires_at
        self.token_fingerprint = fingerprint(token) if token is not None else ANONYMOUS
        self._budget = hop.limits.timeout_seconds
        self._failed = False
        self._lock = asyncio.Lock()
        self._session: PooledSession | None = None

    async def tools(self) -> list[MCPTool]:
        """The tools the hop lists for this token (cached per token)."""
        cached = self._hop.cached_tools(self.token_fingerprint)
        if cached is not None:
            return cached
        client = await self._client()
        tools: list[MCPTool] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await self._bounded(client.list_tools(params=params))
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        self._hop.store_tools(self.token_fingerprint, tools)
        return tools

    async def call_tool(self, tool_use_id: str, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call one of the hop's tools; HopError when the hop fails or the budget runs out."""
        client = await self._client()
        result = await self._bounded(client.call_tool(name, arguments))
        content = [{"text": block.text} for block in result.content if getattr(block, "type", None) == "text"]
        status = "error" if result.is_error else "success"
        return {"toolUseId": tool_use_id, "status": status, "content": content}  # type: ignore[typeddict-item]

    def close(self) -> None:
        """The turn is over: give the session back (it stays open for the token's next turn)."""
        session, self._session = self._session, None
        if session is not None:
            self._hop.give_back(session, self._failed)

    async def _client(self) -> ClientSession:
        async with self._lock:
            if self._session is None:
                if self._failed or self._hop.backing_off:
                    raise HopError("hop unavailable")
                self._session = self._hop.lease(self._token, self._expires_at)
            opened: ClientSession = await self._bounded(asyncio.shield(self._session.open()))
            return opened

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
            server_error = self._session is not None and self._session.server_error
            self._hop.note_failure(exc, server_error)
            raise HopError(describe(exc)) from exc
        finally:
            self._budget -= time.monotonic() - start
