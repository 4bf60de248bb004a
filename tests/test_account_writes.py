"""The AccountTools write tools (start_return, list_my_returns, create_support_ticket) alone.

The Lambda handler against the orders, requests and audit tables on a moto server over HTTP; no
gateway, no policy, no agent. Each test uses customers of its own (fresh subs), seeded here.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from tests.test_account_tools import CODE, TODAY, context, handler

if str(CODE) not in sys.path:  # the Lambda's code folder, as tests.test_account_tools puts it
    sys.path.insert(0, str(CODE))
from orders_store import OrderStore
from requests_store import RequestStore

SECRET_SUMMARY = "My card 4111 1111 1111 1111 was charged twice"


@pytest.fixture
def stores(orders_table: dict[str, str]) -> tuple[OrderStore, RequestStore, dict[str, Any]]:
    from scripts.localdev.orders import (
        LOCAL_CREDENTIALS,
        REGION,
        companion_names,
        local_requests,
        local_store,
    )

    url, name = orders_table["ORDERS_ENDPOINT_URL"], orders_table["ORDERS_TABLE_NAME"]
    resource = boto3.resource("dynamodb", endpoint_url=url, region_name=REGION, **LOCAL_CREDENTIALS)
    tables = {var: resource.Table(n) for var, n in companion_names(name).items()}
    return local_store(url, name), local_requests(url, name), tables


def customer(store: OrderStore, *orders: dict[str, Any]) -> str:
    """A new customer (sub) owning `orders`."""
    sub = f"sub-{uuid.uuid4().hex[:10]}"
    for o in orders:
        assert store.put_new({"customer_id": sub, **o})
    return sub


def delivered(order_id: str, days_ago: int, *lines: tuple[str, int]) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "purchase_date": (TODAY - timedelta(days=days_ago)).isoformat(),
        "status": "delivered",
        "lines": [{"product_id": p, "quantity": q} for p, q in lines],
    }


def call(
    stores: tuple[OrderStore, RequestStore, Any], tool: str, today: date = TODAY, **arguments: Any
) -> Any:
    return handler.lambda_handler(arguments, context(tool), today=today, store=stores[0], requests=stores[1])


def partition(table: Any, sub: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = table.query(KeyConditionExpression=Key("customer_id").eq(sub))["Items"]
    return items


def test_a_return_of_the_callers_own_order_is_authorized_and_audited(stores: Any) -> None:
    sub = customer(stores[0], delivered("ORD-7001", 5, ("PROD-005", 1), ("PROD-004", 2)))
    result = call(
        stores,
        "start_return",
        customer_id=sub,
        order_id="ord-7001",
        line=2,
        refund_amount=109.98,
        session_id="3f0c9a7e-1d2b-4c5d-8e9f-0a1b2c3d4e5f",
        trace_id="Root=1-6756a1b2-0123456789abcdef01234567",
    )
    assert result["created"] is True
    rma = result["return"]
    assert rma["return_id"].startswith("RMA-") and len(rma["return_id"]) == 16
    assert rma["status"] == "authorized" and rma["order_id"] == "ORD-7001"
    assert rma["lines"] == [{"line": 2, "product_id": "PROD-004", "quantity": 2}]
    assert rma["refund"]["amount"] == "109.98" and rma["refund"]["currency"] == "USD"
    assert "customer_id" not in rma and "record_id" not in rma

    [audit] = partition(stores[2]["AUDIT_TABLE_NAME"], sub)
    assert audit["tool"] == "start_return" and audit["outcome"] == "created"
    assert audit["result_id"] == rma["return_id"]
    assert audit["arguments"] == {"order_id": "ORD-7001", "line": 2, "quantity": 2, "refund_amount": "109.98"}
    assert audit["session_id"] == "3f0c9a7e-1d2b-4c5d-8e9f-0a1b2c3d4e5f"
    assert audit["trace_id"] == "Root=1-6756a1b2-0123456789abcdef01234567"
    assert audit["at"] and audit["audit_id"].startswith(audit["at"])

    listed = call(stores, "list_my_returns", customer_id=sub)
    assert listed == {"returns": [rma], "count": 1, "truncated": False}


def test_another_customers_order_is_not_found_and_nothing_is_written(stores: Any) -> None:
    owner = customer(stores[0], delivered("ORD-7101", 2, ("PROD-005", 1)))
    intruder = customer(stores[0])
    arguments: dict[str, Any] = {"customer_id": intruder, "line": 1, "refund_amount": 129.99}
    foreign = call(stores, "start_return", order_id="ORD-7101", **arguments)
    missing = call(stores, "start_return", order_id="ORD-7999", **arguments)
    assert foreign["error_code"] == "order_not_found"
    assert json.dumps(foreign).replace("7101", "X") == json.dumps(missing).replace("7999", "X")
    ticket = call(stores, "create_support_ticket", customer_id=intruder, summary="help", order_id="ORD-7101")
    assert ticket["error_code"] == "order_not_found"
    for table in stores[2].values():
        assert partition(table, intruder) == [] and partition(table, owner) == []
    assert call(stores, "list_my_returns", customer_id=intruder)["count"] == 0


def test_asking_twice_yields_the_same_return(stores: Any) -> None:
    sub = customer(stores[0], delivered("ORD-7201", 3, ("PROD-004", 2)))
    first = call(stores, "start_return", customer_id=sub, order_id="ORD-7201", line=1, refund_amount=109.98)
    # Again, even with other arguments (one unit): the first return stands, nothing new is written.
    again = call(
        stores, "start_return", customer_id=sub, order_id="ORD-7201", line=1, quantity=1, refund_amount=54.99
    )
    assert first["created"] is True and again == {"return": first["return"], "created": False}
    assert len(partition(stores[2]["REQUESTS_TABLE_NAME"], sub)) == 1
    assert len(partition(stores[2]["AUDIT_TABLE_NAME"], sub)) == 1
    # Two writers racing past the read: the conditional put keeps the first one.
    item = {"customer_id": sub, "record_id": "RETURN#ORD-7201#1", "return_id": "RMA-OTHER"}
    stored, created = stores[1].create_return(item, {"tool": "start_return"})
    assert created is False and stored["return_id"] == first["return"]["return_id"]
    assert len(partition(stores[2]["AUDIT_TABLE_NAME"], sub)) == 1  # the refused write left no audit


@pytest.mark.parametrize(
    ("refund_amount", "code"),
    [
        (129.98, "refund_mismatch"),
        (0, "refund_mismatch"),
        ("129.990", "created"),
        (129.999, "refund_mismatch"),
        (-5, "invalid_refund_amount"),
        ("lots", "invalid_refund_amount"),
        (None, "missing_refund_amount"),
    ],
)
def test_the_refund_must_be_the_one_computed_here(stores: Any, refund_amount: Any, code: str) -> None:
    sub = customer(stores[0], delivered("ORD-7301", 3, ("PROD-005", 1)))
    result = call(
        stores, "start_return", customer_id=sub, order_id="ORD-7301", line=1, refund_amount=refund_amount
    )
    assert result.get("error_code", "created" if result.get("created") else None) == code
    if code != "created":
        assert "129.99" in result["error"] or code != "refund_mismatch"
        assert partition(stores[2]["REQUESTS_TABLE_NAME"], sub) == []
        assert partition(stores[2]["AUDIT_TABLE_NAME"], sub) == []


def test_an_ineligible_return_is_refused_and_nothing_is_written(stores: Any) -> None:
    sub = customer(stores[0], delivered("ORD-7401", 40, ("PROD-005", 1)))
    result = call(stores, "start_return", customer_id=sub, order_id="ORD-7401", line=1, refund_amount=129.99)
    assert result["error_code"] == "return_window_closed"
    assert partition(stores[2]["REQUESTS_TABLE_NAME"], sub) == []


def test_tickets_are_bounded_per_customer(stores: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_OPEN_TICKETS", "2")
    sub = customer(stores[0], delivered("ORD-7501", 3, ("PROD-005", 1)))
    first = call(
        stores,
        "create_support_ticket",
        customer_id=sub,
        summary=SECRET_SUMMARY,
        order_id="ORD-7501",
        session_id="s-1",
        trace_id="t-1",
    )
    second = call(stores, "create_support_ticket", customer_id=sub, summary="Second question")
    third = call(stores, "create_support_ticket", customer_id=sub, summary="Third question")
    assert first["ticket"]["ticket_id"].startswith("TCK-") and first["ticket"]["status"] == "open"
    assert first["ticket"]["order_id"] == "ORD-7501" and "summary" not in first["ticket"]
    assert second["ticket"]["ticket_id"] != first["ticket"]["ticket_id"]
    assert third["error_code"] == "ticket_limit_reached" and "2 open support tickets" in third["error"]
    items = partition(stores[2]["REQUESTS_TABLE_NAME"], sub)
    tickets = [i for i in items if i["record_id"].startswith("TICKET#")]
    assert len(tickets) == 2 and {t["summary"] for t in tickets} == {SECRET_SUMMARY, "Second question"}
    assert [i["open_tickets"] for i in items if i["record_id"] == "COUNTER#open_tickets"] == [2]

    # The audit trail has both tickets, without what the customer wrote.
    audits = partition(stores[2]["AUDIT_TABLE_NAME"], sub)
    assert sorted(a["result_id"] for a in audits) == sorted(t["ticket_id"] for t in tickets)
    assert "4111" not in json.dumps(audits, default=str) and "question" not in json.dumps(audits, default=str)
    first_audit = next(a for a in audits if a["result_id"] == first["ticket"]["ticket_id"])
    assert first_audit["arguments"] == {"summary_chars": len(SECRET_SUMMARY), "order_id": "ORD-7501"}
    assert (first_audit["session_id"], first_audit["trace_id"]) == ("s-1", "t-1")


def test_the_bound_is_the_stored_counter_checked_inside_the_write(stores: Any) -> None:
    # The bound is a condition on the counter item in the same transaction as the ticket, not a count
    # taken before writing: a counter at the bound refuses even with no ticket item in sight.
    # (Concurrency itself is DynamoDB's: transactions are serializable there. moto does not isolate
    # concurrent transactions: 8 parallel requests sometimes made 4 tickets under a bound of 3.)
    sub = customer(stores[0])
    stores[2]["REQUESTS_TABLE_NAME"].put_item(
        Item={"customer_id": sub, "record_id": "COUNTER#open_tickets", "open_tickets": 3}
    )
    assert (
        call(stores, "create_support_ticket", customer_id=sub, summary="q")["error_code"]
        == "ticket_limit_reached"
    )
    assert len(partition(stores[2]["REQUESTS_TABLE_NAME"], sub)) == 1
    assert partition(stores[2]["AUDIT_TABLE_NAME"], sub) == []


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"summary": ""}, "missing_summary"),
        ({"summary": "x" * 501}, "invalid_summary"),
        ({"summary": "bell \x07"}, "invalid_summary"),
        ({"summary": "ok", "session_id": "bad id"}, "invalid_session_id"),
        ({"summary": "ok", "trace_id": 7}, "invalid_trace_id"),
    ],
)
def test_bad_ticket_input_is_a_clear_error(stores: Any, arguments: dict[str, Any], code: str) -> None:
    sub = customer(stores[0])
    assert call(stores, "create_support_ticket", customer_id=sub, **arguments)["error_code"] == code
    assert partition(stores[2]["REQUESTS_TABLE_NAME"], sub) == []


def test_write_tools_without_their_tables_are_unavailable(stores: Any) -> None:
    sub = customer(stores[0])
    result = handler.lambda_handler(
        {"customer_id": sub, "summary": "hi"}, context("create_support_ticket"), today=TODAY, store=stores[0]
    )
    assert result["error_code"] == "unavailable"
    assert "create_support_ticket" in handler.TOOLS and sys.modules.get("write_tools") is not None
