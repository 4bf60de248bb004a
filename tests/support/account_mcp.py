"""A real MCP server (streamable HTTP) with account tools, recording what every call carries.

It lists tools named as the gateway names them (``AccountTools___list_my_orders``,
``AccountTools___get_order``, ``AccountTools___check_order_warranty``, ``list_my_returns`` and the
write tools ``start_return`` and ``create_support_ticket`` (issue 18's contract; ids RA-/TCK-<n>),
each with a required string ``customer_id``, plus ``WarrantyCheck___check_warranty``) and answers
from a small in-memory order book keyed by customer id. It trusts the ``customer_id`` it is given:
it stands for the layer behind the agent, so tests can see exactly which id the agent's proxy sent.
``calls`` records (tool, arguments, Authorization) of every call; ``methods`` every JSON-RPC method
received.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from starlette.types import ASGIApp, Receive, Scope, Send

ORDERS = {
    "sub-alice": [{"order_id": "ORD-A-1", "status": "shipped", "lines": [{"product": "Smart Watch"}]}],
    "sub-bob": [{"order_id": "ORD-B-1", "status": "delivered", "lines": [{"product": "USB-C Hub"}]}],
}


def _account_tool(name: str, extra: dict[str, Any] | None = None) -> types.Tool:
    properties = {"customer_id": {"type": "string", "description": "The customer"}, **(extra or {})}
    return types.Tool(
        name=f"AccountTools___{name}",
        description=f"{name} for one customer",
        input_schema={
            "type": "object",
            "properties": properties,
            "required": ["customer_id", *(extra or {})],
        },
    )


ORDER_ID = {"order_id": {"type": "string", "description": "An order id"}}
CONTEXT = {"session_id": {"type": "string"}, "trace_id": {"type": "string"}}  # optional: set by the agent
RETURN = {
    **ORDER_ID,
    "line": {"type": "integer"},
    "refund_amount": {"type": "number"},
}
TICKET = {"summary": {"type": "string"}}
WRITES = ("start_return", "create_support_ticket")  # the write tools of g1's contract (issue 18)


def _write_tool(name: str, required: dict[str, Any], optional: dict[str, Any]) -> types.Tool:
    tool = _account_tool(name, required)
    schema = dict(tool.input_schema)
    schema["properties"] = {**schema["properties"], **optional, **CONTEXT}
    return tool.model_copy(update={"input_schema": schema})


TOOLS = [
    _account_tool("list_my_orders"),
    _account_tool("get_order", ORDER_ID),
    _account_tool("check_order_warranty", ORDER_ID),
    _account_tool("list_my_returns"),
    _write_tool("start_return", RETURN, {"quantity": {"type": "integer"}}),
    _write_tool("create_support_ticket", TICKET, ORDER_ID),
    types.Tool(
        name="WarrantyCheck___check_warranty",
        description="warranty of a product",
        input_schema={
            "type": "object",
            "properties": {"product_id": {"type": "string"}},
            "required": ["product_id"],
        },
    ),
]


@dataclass
class Call:
    tool: str
    arguments: dict[str, Any]
    authorization: str = field(repr=False)


class AccountMcp:
    """The MCP server plus its recorders, as one ASGI app."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.methods: Counter[str] = Counter()
        self.http_requests = 0
        self.cookies: list[str] = []  # the Cookie header of every request (it sets one on every answer)
        self._authorization = ""
        self._server = Server("account-tools", on_list_tools=self._list_tools, on_call_tool=self._call_tool)
        self._mcp_app = self._server.streamable_http_app(stateless_http=True, json_response=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._mcp_app(scope, receive, send)
            return
        self.http_requests += 1
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        body, more, messages = b"", True, []
        while more:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            self.methods[str(json.loads(body).get("method", "response"))] += 1
        except (ValueError, AttributeError):
            self.methods[scope["method"]] += 1
        self._authorization = headers.get("authorization", "")
        self.cookies.append(headers.get("cookie", ""))
        replay = iter(messages)

        async def replayed() -> Any:
            return next(replay, None) or await receive()

        async def with_cookie(message: Any) -> None:
            if message["type"] == "http.response.start":
                cookie = (b"set-cookie", f"seen={self.http_requests}; Path=/".encode())
                message = {**message, "headers": [*message.get("headers", []), cookie]}
            await send(message)

        await self._mcp_app(scope, replayed, with_cookie)

    def writes(self) -> list[Call]:
        """The calls of write tools received so far."""
        return [call for call in self.calls if call.tool.endswith(WRITES)]

    @property
    def app(self) -> ASGIApp:
        return self

    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=TOOLS)

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = dict(params.arguments or {})
        self.calls.append(Call(params.name, arguments, self._authorization))
        orders = ORDERS.get(str(arguments.get("customer_id")), [])
        if params.name.endswith("list_my_orders"):
            answer: Any = {"orders": orders}
        elif params.name.endswith("start_return"):
            answer = {"return_id": f"RA-{len(self.writes()):04d}", "status": "authorized"}
        elif params.name.endswith("create_support_ticket"):
            answer = {"ticket_id": f"TCK-{len(self.writes()):04d}", "status": "open"}
        elif params.name.endswith("list_my_returns"):
            answer = {"returns": [c.arguments for c in self.writes() if c.tool.endswith("start_return")]}
        elif params.name.endswith(("get_order", "check_order_warranty")):
            found = [o for o in orders if o["order_id"] == arguments.get("order_id")]
            answer = found[0] if found else {"error": "No such order"}
        else:
            answer = {"product_id": arguments.get("product_id"), "warranty_months": 12}
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(answer))])
