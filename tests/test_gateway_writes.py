"""The write tools through the local gateway: direct MCP calls over HTTP with real tokens, no agent.

A gateway of its own on fresh tables (the shared one's orders stay as other tests expect them):
Alice's return of her own order is authorized; her token with Bob's id is denied before the
Lambda; a refund above the operator's limit is denied by the limit policy, named in the tool
error, without invoking the Lambda; a support ticket is created and bounded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from scripts.localdev.gateway import DENIED, denied_text
from scripts.localdev.policy import REFUND_LIMIT_POLICY, refund_limit
from tests.support.processes import REPO
from tests.support.stack import auth_env
from tests.test_gateway_policy import call, user_token

TODAY = datetime.now(timezone.utc).date()
RETURN = "AccountTools___start_return"
LIMIT = refund_limit(json.loads((REPO / "agentcore" / "agentcore.json").read_text()))


def _order(order_id: str, product: str, quantity: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "purchase_date": (TODAY - timedelta(days=5)).isoformat(),
        "status": "delivered",
        "lines": [{"product_id": product, "quantity": quantity}],
    }


@pytest.fixture(scope="module")
def writes_gateway(issuer: Any, moto_server: str) -> Iterator[Any]:
    from scripts.localdev.gateway import build_gateway
    from scripts.localdev.orders import create_table, local_store
    from scripts.localdev.serving import BackgroundServer

    name = f"orders-{uuid.uuid4().hex[:8]}"
    create_table(moto_server, name)
    store = local_store(moto_server, name)
    for sub, order in [
        ("sub-alice", _order("ORD-3101", "PROD-005", 1)),  # 129.99
        ("sub-alice", _order("ORD-3102", "PROD-002", 3)),  # 749.97, above the limit
        ("sub-bob", _order("ORD-4101", "PROD-005", 1)),
    ]:
        store.put_new({"customer_id": sub, **order})
    gw = build_gateway({**auth_env(issuer), "ORDERS_TABLE_NAME": name, "ORDERS_ENDPOINT_URL": moto_server})
    with BackgroundServer(gw.app) as server:
        gw.url = f"{server.url}/mcp"
        yield gw


def test_alice_returns_her_own_order_once(writes_gateway: Any, issuer: Any) -> None:
    token = user_token(issuer, "alice")
    arguments = {
        "customer_id": "sub-alice",
        "order_id": "ORD-3101",
        "line": 1,
        "refund_amount": 129.99,
        "session_id": "sess-1",
        "trace_id": "trace-1",
    }
    is_error, text = call(writes_gateway, token, RETURN, arguments)
    assert not is_error, text
    first = json.loads(text)
    assert first["created"] is True and first["return"]["return_id"].startswith("RMA-")
    is_error, text = call(writes_gateway, token, RETURN, arguments)
    assert json.loads(text) == {**first, "created": False}
    _, listed = call(writes_gateway, token, "AccountTools___list_my_returns", {"customer_id": "sub-alice"})
    assert [r["return_id"] for r in json.loads(listed)["returns"]] == [first["return"]["return_id"]]


def test_alices_token_with_bobs_id_is_denied_before_the_lambda(writes_gateway: Any, issuer: Any) -> None:
    token = user_token(issuer, "alice")
    before = writes_gateway.invocations["AccountTools"]
    calls: list[tuple[str, dict[str, Any]]] = [
        (RETURN, {"customer_id": "sub-bob", "order_id": "ORD-4101", "line": 1, "refund_amount": 129.99}),
        ("AccountTools___list_my_returns", {"customer_id": "sub-bob"}),
        ("AccountTools___create_support_ticket", {"customer_id": "sub-bob", "summary": "help"}),
    ]
    for tool, arguments in calls:
        assert call(writes_gateway, token, tool, arguments) == (True, DENIED)
    assert writes_gateway.invocations["AccountTools"] == before
    # Bob's own token, same call: his return is made (the Lambda ran once).
    is_error, text = call(
        writes_gateway,
        user_token(issuer, "bob"),
        RETURN,
        {"customer_id": "sub-bob", "order_id": "ORD-4101", "line": 1, "refund_amount": 129.99},
    )
    assert not is_error and json.loads(text)["created"] is True
    assert writes_gateway.invocations["AccountTools"] == before + 1


def test_a_refund_above_the_limit_is_denied_by_name_without_the_lambda(
    writes_gateway: Any, issuer: Any
) -> None:
    token = user_token(issuer, "alice")
    before = writes_gateway.invocations["AccountTools"]
    arguments = {"customer_id": "sub-alice", "order_id": "ORD-3102", "line": 1, "refund_amount": 749.97}
    assert Decimal("749.97") > LIMIT
    is_error, text = call(writes_gateway, token, RETURN, arguments)
    assert (is_error, text) == (True, denied_text((REFUND_LIMIT_POLICY,)))
    assert REFUND_LIMIT_POLICY in text  # the agent tells "over the limit" from "not yours" by this name
    assert writes_gateway.decisions[-1].policies == (REFUND_LIMIT_POLICY,)
    assert writes_gateway.invocations["AccountTools"] == before
    # Within the limit (one watch, claimed for the whole line) the policy lets it through and the
    # Lambda refuses the wrong amount: the amount the policy saw must be the real refund.
    is_error, text = call(writes_gateway, token, RETURN, {**arguments, "refund_amount": 249.99})
    assert json.loads(text)["error_code"] == "refund_mismatch" and "749.97" in json.loads(text)["error"]
    assert writes_gateway.invocations["AccountTools"] == before + 1


def test_a_ticket_for_a_person(writes_gateway: Any, issuer: Any) -> None:
    token = user_token(issuer, "alice")
    is_error, text = call(
        writes_gateway,
        token,
        "AccountTools___create_support_ticket",
        {"customer_id": "sub-alice", "summary": "Refund above the limit", "order_id": "ORD-3102"},
    )
    assert not is_error and json.loads(text)["ticket"]["ticket_id"].startswith("TCK-")
