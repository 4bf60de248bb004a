"""The local gateway's Cedar layer alone: direct MCP calls over HTTP, no agent in between.

A's token with B's customer id is denied by the manifest's policy and never reaches the Lambda
(invocations are counted); machine tokens see and reach no account tool; the catalog stays open to
every signed-in caller; each decision is one JSON line without the token.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from scripts.localdev.gateway import DENIED, denied_text
from tests.support.stack import ISSUER_SUBS, MACHINE_CLIENT, SCOPE, USER_CLIENT

CATALOG = "WarrantyCheck___check_warranty"
ACCOUNT = ("AccountTools___list_my_orders", "AccountTools___get_order", "AccountTools___check_order_warranty")
# What a user lists: the read tools above and the write tools (tests/test_gateway_writes.py).
LISTED_ACCOUNT = (
    *ACCOUNT,
    "AccountTools___start_return",
    "AccountTools___list_my_returns",
    "AccountTools___create_support_ticket",
)
# Bob's order, asked for under Bob's id with Alice's token.
FOREIGN: dict[str, dict[str, Any]] = {
    "AccountTools___list_my_orders": {"customer_id": "sub-bob"},
    "AccountTools___get_order": {"customer_id": "sub-bob", "order_id": "ORD-4001"},
    "AccountTools___check_order_warranty": {"customer_id": "sub-bob", "order_id": "ORD-4001", "line": 1},
}


def user_token(issuer: Any, name: str) -> str:
    user = issuer.config.user(name)
    assert user is not None and user.sub == ISSUER_SUBS[name]
    token: str = issuer.user_tokens(user, USER_CLIENT)["access"]
    return token


def rpc(gateway: Any, token: str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One JSON-RPC request to the gateway, as any MCP client (or attacker) can send it."""
    response = httpx.post(
        gateway.url,
        headers={"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"},
        json={"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params else {})},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


def listed(gateway: Any, token: str) -> list[str]:
    return [tool["name"] for tool in rpc(gateway, token, "tools/list")["tools"]]


def call(gateway: Any, token: str, tool: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    result = rpc(gateway, token, "tools/call", {"name": tool, "arguments": arguments})
    return bool(result.get("isError")), result["content"][0]["text"]


@pytest.mark.parametrize("tool", ACCOUNT)
def test_a_users_token_with_another_customers_id_is_denied_before_the_lambda(
    gateway: Any, issuer: Any, tool: str
) -> None:
    token = user_token(issuer, "alice")
    before, decisions = gateway.invocations["AccountTools"], len(gateway.decisions)
    is_error, text = call(gateway, token, tool, FOREIGN[tool])
    assert (is_error, text) == (True, DENIED)
    assert gateway.invocations["AccountTools"] == before  # the Lambda was never invoked
    decision = gateway.decisions[-1]
    assert len(gateway.decisions) == decisions + 1
    assert (decision.kind, decision.tool, decision.principal, decision.decision) == (
        "call",
        tool,
        "sub-alice",
        "DENY",
    )
    # The same call with her own id goes through to the Lambda and her data.
    own = {
        **FOREIGN[tool],
        "customer_id": "sub-alice",
        **({"order_id": "ORD-3001"} if "order_id" in FOREIGN[tool] else {}),
    }
    is_error, text = call(gateway, token, tool, own)
    assert not is_error and "ORD-3001" in text and "ORD-4001" not in text
    assert gateway.invocations["AccountTools"] == before + 1


def test_a_user_sees_every_tool_and_reaches_the_catalog(gateway: Any, issuer: Any) -> None:
    token = user_token(issuer, "bob")
    assert listed(gateway, token) == [CATALOG, *LISTED_ACCOUNT]
    is_error, text = call(gateway, token, CATALOG, {"product_id": "PROD-002"})
    assert not is_error and json.loads(text)["warranty_months"] == 24
    is_error, text = call(gateway, token, "AccountTools___list_my_orders", {"customer_id": "sub-bob"})
    assert not is_error and [o["order_id"] for o in json.loads(text)["orders"]] == ["ORD-4001"]


def test_a_machine_token_gets_no_account_tool(gateway: Any, issuer: Any) -> None:
    token = issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE])
    assert listed(gateway, token) == [CATALOG]
    before = gateway.invocations["AccountTools"]
    for tool in ACCOUNT:
        # Not even under its own sub (the client id), which a policy on ids alone would permit.
        for customer in ("sub-alice", MACHINE_CLIENT):
            is_error, text = call(gateway, token, tool, {**FOREIGN[tool], "customer_id": customer})
            assert (is_error, text) == (True, denied_text(("NoAccountToolsForMachineTokens",)))
            assert gateway.decisions[-1].policies == ("NoAccountToolsForMachineTokens",)
    assert gateway.invocations["AccountTools"] == before
    warranty_calls = gateway.invocations["WarrantyCheck"]
    is_error, _ = call(gateway, token, CATALOG, {"product_id": "PROD-001"})
    assert not is_error and gateway.invocations["WarrantyCheck"] == warranty_calls + 1


def test_a_call_without_a_customer_id_is_denied_by_the_gateway_too(gateway: Any, issuer: Any) -> None:
    before = gateway.invocations["AccountTools"]
    assert call(gateway, user_token(issuer, "alice"), ACCOUNT[0], {}) == (True, DENIED)
    assert gateway.invocations["AccountTools"] == before


def test_each_decision_is_one_json_line_without_the_token(
    gateway: Any, issuer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = user_token(issuer, "alice")
    with caplog.at_level(logging.INFO, logger="localdev.gateway.decisions"):
        call(gateway, token, ACCOUNT[1], FOREIGN[ACCOUNT[1]])
        listed(gateway, token)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "localdev.gateway.decisions"]
    assert [(line["kind"], line["tool"], line["decision"]) for line in lines] == [
        ("call", ACCOUNT[1], "DENY"),
        *(("list", name, "ALLOW") for name in (CATALOG, *LISTED_ACCOUNT)),
    ]
    assert {line["principal"] for line in lines} == {"sub-alice"}
    assert token not in caplog.text and token.split(".")[1] not in caplog.text
    assert "ORD-4001" not in caplog.text  # arguments stay out of the log too
