"""The Gateway MCP client, bound to the token of the request it serves.

A connection carries exactly one caller's token. Tools registered on an agent are proxies with
no client of their own: each call takes the connection of the current request from the
invocation state, so a call can never carry an earlier request's or another caller's token.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from mcp.types import Tool as MCPTool
from strands.tools.mcp import MCPClient
from strands.tools.mcp.mcp_agent_tool import MCPAgentTool
from strands.types._events import ToolResultEvent
from strands.types.tools import ToolResult, ToolUse

logger = logging.getLogger(__name__)

CONNECTION_KEY = "customersupport_gateway_connection"
STATUS_KEY = "customersupport_gateway_status"


class GatewayStatus(enum.Enum):
    """What the agent can tell the caller about the warranty service this turn."""

    NOT_CONFIGURED = "not configured"
    SIGN_IN_REQUIRED = "sign-in required"
    UNAVAILABLE = "unavailable"
    AVAILABLE = "available"


def fingerprint(token: str) -> str:
    """A stable, non-reversible key for a token (tokens themselves are never stored as keys)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class GatewayConnection:
    """A started MCP client for one token, with the tools the gateway listed for it."""

    token_fingerprint: str
    client: MCPClient = field(repr=False)
    tools: list[MCPTool]

    def close(self) -> None:
        """Stop the client's background thread (blocking)."""
        try:
            self.client.stop(None, None, None)
        except Exception:  # noqa: BLE001 - closing must never fail a request
            logger.warning("gateway client did not stop cleanly", exc_info=True)


def open_connection(url: str, token: str, timeout_seconds: float) -> GatewayConnection:
    """Start a client that sends `token` and list its tools (blocking; run it off the event loop)."""
    client = MCPClient(
        url=url, headers={"Authorization": f"Bearer {token}"}, startup_timeout=max(1, int(timeout_seconds))
    )
    client.start()
    try:
        tools: list[MCPTool] = []
        page_token = None
        while True:
            page = client.list_tools_sync(pagination_token=page_token)
            tools.extend(tool.mcp_tool for tool in page)
            page_token = page.pagination_token
            if not page_token:
                break
    except BaseException:
        client.stop(None, None, None)
        raise
    return GatewayConnection(fingerprint(token), client, tools)


class GatewayTool(MCPAgentTool):
    """A gateway tool that calls through the current request's connection."""

    def __init__(self, mcp_tool: MCPTool, timeout_seconds: float) -> None:
        super().__init__(mcp_tool, mcp_client=None, timeout=timedelta(seconds=timeout_seconds))  # type: ignore[arg-type]

    async def stream(self, tool_use: ToolUse, invocation_state: dict[str, Any], **kwargs: Any):  # type: ignore[override]
        connection: GatewayConnection | None = invocation_state.get(CONNECTION_KEY)
        if connection is None:
            status = invocation_state.get(STATUS_KEY, GatewayStatus.UNAVAILABLE)
            message = (
                "Warranty lookup needs you to sign in."
                if status == GatewayStatus.SIGN_IN_REQUIRED
                else "The warranty service is unavailable right now."
            )
            yield ToolResultEvent(_error(tool_use, message))
            return
        try:
            result = await asyncio.wait_for(
                connection.client.call_tool_async(
                    tool_use_id=tool_use["toolUseId"],
                    name=self.mcp_tool.name,
                    arguments=tool_use["input"],
                    read_timeout_seconds=self.timeout,
                ),
                timeout=self.timeout.total_seconds() if self.timeout else None,
            )
        except Exception:  # noqa: BLE001 - any transport failure means "unavailable" to the caller
            logger.warning("gateway tool %s failed", self.mcp_tool.name, exc_info=True)
            result = _error(tool_use, "The warranty service is unavailable right now.")
        else:
            if result.get("status") == "error" and _is_transport_error(result):
                logger.warning("gateway tool %s returned a transport error", self.mcp_tool.name)
                result = _error(tool_use, "The warranty service is unavailable right now.")
        yield ToolResultEvent(result)


def _is_transport_error(result: ToolResult) -> bool:
    # Strands turns client-side exceptions into error results whose text starts like this;
    # their text may name internals, so it is replaced rather than shown to the caller.
    texts = [item.get("text", "") for item in result.get("content", [])]
    return any(text.startswith(("Tool execution failed", "Tool execution cancelled")) for text in texts)


def _error(tool_use: ToolUse, message: str) -> ToolResult:
    return {"toolUseId": tool_use["toolUseId"], "status": "error", "content": [{"text": message}]}
