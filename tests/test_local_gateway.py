"""The local gateway with the agent's real MCP client: JWT enforcement and Lambda-shaped calls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from mcp_client.client import HopError, HopTurn, McpHop
from scripts.localdev.gateway import LocalGateway, build_gateway, manifest_tools
from scripts.localdev.serving import BackgroundServer
from settings import Settings
from tests.support.processes import REPO
from tests.support.stack import MACHINE_CLIENT, SCOPE, auth_env

TOOL = "WarrantyCheck___check_warranty"


def with_turn(url: str, token: str, use: Callable[[HopTurn], Awaitable[Any]], timeout: float = 10) -> Any:
    """Run `use` on one token-bound gateway session of the agent's client, then close everything."""

    async def go() -> Any:
        hop = McpHop(Settings(gateway_url=url, gateway_timeout_seconds=timeout).hops()[0])
        turn = hop.turn(token)
        try:
            return await use(turn)
        finally:
            turn.close()
            await hop.aclose()

    return asyncio.run(go())


def test_tools_are_named_and_described_as_the_gateway_exposes_them() -> None:
    tools = manifest_tools(REPO / "agentcore" / "agentcore.json")
    warranty = json.loads((REPO / "tool_schemas" / "warranty_check.json").read_text())
    account = json.loads((REPO / "tool_schemas" / "account_tools.json").read_text())
    assert [t.name for t in tools] == [f"WarrantyCheck___{d['name']}" for d in warranty] + [
        f"AccountTools___{d['name']}" for d in account
    ]
    assert [t.definition for t in tools] == warranty + account


def test_valid_token_gets_a_result_through_the_agents_client(gateway: Any, issuer: Any) -> None:
    token = issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE])

    async def use(turn: HopTurn) -> tuple[list[str], Any]:
        names = [tool.name for tool in await turn.tools()]
        return names, await turn.call_tool(
            "t-1", TOOL, {"product_id": "prod-005", "purchase_date": "2025-01-10"}
        )

    names, result = with_turn(gateway.url, token, use)
    assert names == [TOOL]  # a machine token sees no account tool (tests/test_gateway_policy.py)
    assert result["status"] == "success"
    body = json.loads(result["content"][0]["text"])
    assert body["product_id"] == "PROD-005" and body["warranty_months"] == 24 and body["status"] == "active"
    assert gateway.calls[-1].authorization == f"Bearer {token}"


def test_handler_errors_are_tool_results_not_crashes(gateway: Any, issuer: Any) -> None:
    token = issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE])

    async def use(turn: HopTurn) -> tuple[Any, Any]:
        unknown = await turn.call_tool("t-2", TOOL, {"product_id": "PROD-999"})
        return unknown, await turn.call_tool("t-3", "WarrantyCheck___nope", {})

    unknown, missing = with_turn(gateway.url, token, use)
    assert "error" in json.loads(unknown["content"][0]["text"])
    assert missing["status"] == "error"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer garbage", 403),
        ("expired", 403),
        ("wrong-client", 403),
    ],
)
def test_gateway_rejects_before_mcp(
    gateway: Any, issuer: Any, authorization: str | None, status: int
) -> None:
    if authorization == "expired":
        authorization = "Bearer " + issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE], lifetime=-300)
    elif authorization == "wrong-client":
        authorization = "Bearer " + issuer.client_credentials_token("not-allowed", [SCOPE])
    headers = {
        "Accept": "application/json, text/event-stream",
        **({"Authorization": authorization} if authorization else {}),
    }
    calls = len(gateway.calls)
    response = httpx.post(
        gateway.url,
        headers=headers,
        timeout=10,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": TOOL, "arguments": {"product_id": "PROD-001"}},
        },
    )
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert len(gateway.calls) == calls
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_agent_client_start_fails_on_rejection(gateway: Any) -> None:
    """The agent turns this failure into "warranty service unavailable" (see test_agent_http)."""
    calls = len(gateway.calls)

    async def use(turn: HopTurn) -> Any:
        return await turn.tools()

    with pytest.raises(HopError):
        with_turn(gateway.url, "not-a-jwt", use, timeout=5)
    assert len(gateway.calls) == calls


def test_slow_handler_times_out_as_a_tool_error(issuer: Any) -> None:
    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        time.sleep(3)
        return {"late": True}

    gw = build_gateway(
        {**auth_env(issuer), "GATEWAY_TOOL_TIMEOUT_SECONDS": "0.5"}, handlers={"WarrantyCheck": slow}
    )
    assert isinstance(gw, LocalGateway)
    with BackgroundServer(gw.app) as server:
        token = issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE])

        async def use(turn: HopTurn) -> tuple[Any, list[str]]:
            result = await turn.call_tool("t-4", TOOL, {"product_id": "PROD-001"})
            # The server is still healthy afterwards (listing is not cached on this new client).
            return result, [t.name for t in await turn.tools()]

        result, names = with_turn(f"{server.url}/mcp", token, use)
        assert result["status"] == "error" and "timed out" in result["content"][0]["text"]
        assert names == [TOOL]


def test_gateway_refuses_two_authorization_headers(gateway: Any, issuer: Any) -> None:
    token = issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE])
    calls = len(gateway.calls)
    response = httpx.post(
        gateway.url,
        headers=[
            ("Accept", "application/json, text/event-stream"),
            ("Authorization", f"Bearer {token}"),
            ("Authorization", "Bearer garbage"),
        ],
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Send exactly one Authorization header"}
    assert len(gateway.calls) == calls
