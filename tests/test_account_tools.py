"""AccountTools Lambda (app/AccountTools) alone, against the orders table on a moto server over HTTP.

No gateway, no policy, no agent: these tests call the handler as the gateway would and prove the
Lambda's own layer: it refuses a call without ``customer_id``, reads only that customer's partition,
and answers another customer's order id byte for byte like a missing one.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest

from tests.support.processes import REPO
from tests.support.shapes import check_shape, service_shapes

CODE = REPO / "app" / "AccountTools"
TOOL_SCHEMA = REPO / "tool_schemas" / "account_tools.json"
TODAY = datetime.now(timezone.utc).date()  # the fixture seeds dates relative to today


def _load_handler() -> ModuleType:
    # As the Lambda runtime does: the code folder on sys.path, handler.py loaded from its file.
    if str(CODE) not in sys.path:
        sys.path.insert(0, str(CODE))
    spec = importlib.util.spec_from_file_location("account_tools_handler", CODE / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handler = _load_handler()
from orders_store import OrderStore  # noqa: E402 - the code folder is on sys.path now


def context(tool: str) -> SimpleNamespace:
    """The client context AgentCore Gateway sends with a call of AccountTools___<tool>."""
    return SimpleNamespace(
        client_context=SimpleNamespace(custom={"bedrockAgentCoreToolName": f"AccountTools___{tool}"})
    )


class CountingStore(OrderStore):
    """The real store, counting the reads that reach DynamoDB."""

    def __init__(self, store: OrderStore) -> None:
        super().__init__(store._table)
        self.reads = 0

    def list_orders(self, customer_id: str) -> tuple[list[dict[str, Any]], bool]:
        self.reads += 1
        return super().list_orders(customer_id)

    def get_order(self, customer_id: str, order_id: str) -> dict[str, Any] | None:
        self.reads += 1
        return super().get_order(customer_id, order_id)


@pytest.fixture
def store(orders_table: dict[str, str]) -> CountingStore:
    from scripts.localdev.orders import local_store

    return CountingStore(local_store(orders_table["ORDERS_ENDPOINT_URL"], orders_table["ORDERS_TABLE_NAME"]))


def call(store: OrderStore, tool: str, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = handler.lambda_handler(arguments, context(tool), today=TODAY, store=store)
    return result


def test_tool_schema_is_a_gateway_tool_definition_with_a_required_customer_id() -> None:
    definitions = json.loads(TOOL_SCHEMA.read_text())
    shapes = service_shapes()
    for definition in definitions:
        check_shape(definition, "ToolDefinition", shapes, definition["name"])
        schema = definition["inputSchema"]
        assert schema["properties"]["customer_id"]["type"] == "string"
        assert "customer_id" in schema["required"]
    assert [d["name"] for d in definitions] == list(handler.TOOLS)
    line = definitions[2]["inputSchema"]["properties"]["line"]
    assert line["type"] == "integer" and "line" not in definitions[2]["inputSchema"]["required"]


def test_list_my_orders_returns_the_callers_orders_only(store: CountingStore) -> None:
    alice = call(store, "list_my_orders", customer_id="sub-alice")
    assert [o["order_id"] for o in alice["orders"]] == ["ORD-3001"]
    assert alice["count"] == 1 and alice["truncated"] is False
    (order,) = alice["orders"]
    assert order["purchase_date"] == (TODAY - timedelta(days=100)).isoformat()
    assert [(line["line"], line["product_id"], line["product_name"]) for line in order["lines"]] == [
        (1, "PROD-002", "Smart Watch"),
        (2, "PROD-003", "Laptop Stand"),
    ]
    assert order["shipping"]["carrier"] == "UPS"
    bob = call(store, "list_my_orders", customer_id="sub-bob")
    assert [o["order_id"] for o in bob["orders"]] == ["ORD-4001"]
    assert call(store, "list_my_orders", customer_id="sub-nobody") == {
        "orders": [],
        "count": 0,
        "truncated": False,
    }


@pytest.mark.parametrize("tool", ["list_my_orders", "get_order", "check_order_warranty"])
@pytest.mark.parametrize("customer_id", [None, "", "   ", 42, "sub alice", "x" * 200])
def test_a_call_without_a_valid_customer_id_is_refused_before_any_read(
    store: CountingStore, tool: str, customer_id: Any
) -> None:
    arguments: dict[str, Any] = {"order_id": "ORD-3001"}
    if customer_id is not None:
        arguments["customer_id"] = customer_id
    result = handler.lambda_handler(arguments, context(tool), today=TODAY, store=store)
    assert result["error_code"] in {"missing_customer_id", "invalid_customer_id"}
    assert set(result) == {"error", "error_code"}
    assert store.reads == 0


def test_another_customers_order_is_answered_exactly_like_a_missing_one(
    orders_table: dict[str, str], store: CountingStore
) -> None:
    # Bob's order as Alice: then the same question once that order does not exist at all.
    asked = [("get_order", {}), ("check_order_warranty", {}), ("check_order_warranty", {"line": 2})]
    with_bobs_order = [
        json.dumps(call(store, tool, customer_id="sub-alice", order_id="ORD-4001", **extra))
        for tool, extra in asked
    ]
    table = boto3.resource(
        "dynamodb",
        endpoint_url=orders_table["ORDERS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).Table(orders_table["ORDERS_TABLE_NAME"])
    key = {"customer_id": "sub-bob", "order_id": "ORD-4001"}
    saved = table.get_item(Key=key)["Item"]
    table.delete_item(Key=key)
    try:
        without = [
            json.dumps(call(store, tool, customer_id="sub-alice", order_id="ORD-4001", **extra))
            for tool, extra in asked
        ]
    finally:
        table.put_item(Item=saved)
    assert with_bobs_order == without
    assert json.loads(without[0]) == {
        "error": "No order ORD-4001 was found for this customer.",
        "error_code": "order_not_found",
    }
    # And Bob still gets his own order.
    assert (
        call(store, "get_order", customer_id="sub-bob", order_id="ord-4001")["order"]["order_id"]
        == "ORD-4001"
    )


def test_check_order_warranty_takes_the_purchase_date_from_the_order(store: CountingStore) -> None:
    bought = TODAY - timedelta(days=100)
    watch = call(store, "check_order_warranty", customer_id="sub-alice", order_id="ORD-3001")
    assert watch["order_id"] == "ORD-3001" and watch["line"] == 1
    assert watch["product_id"] == "PROD-002" and watch["purchase_date"] == bought.isoformat()
    assert watch["status"] == "active" and watch["warranty_months"] == 24
    stand = call(store, "check_order_warranty", customer_id="sub-alice", order_id="ORD-3001", line=2)
    assert stand["product_id"] == "PROD-003" and stand["warranty_months"] == 6
    # Six months after the purchase the stand's coverage has ended.
    later = handler.lambda_handler(
        {"customer_id": "sub-alice", "order_id": "ORD-3001", "line": "2"},
        context("check_order_warranty"),
        today=bought + timedelta(days=200),
        store=store,
    )
    assert later["status"] == "expired" and later["days_remaining"] == 0


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (3, "line_not_found"),
        (0, "line_not_found"),
        ("two", "invalid_line"),
        (True, "invalid_line"),
        (1.5, "invalid_line"),
    ],
)
def test_bad_lines_are_explained(store: CountingStore, line: Any, code: str) -> None:
    result = call(store, "check_order_warranty", customer_id="sub-alice", order_id="ORD-3001", line=line)
    assert result["error_code"] == code


@pytest.mark.parametrize(
    ("order_id", "code"),
    [(None, "missing_order_id"), ("ORD 1", "invalid_order_id"), ("../x", "invalid_order_id")],
)
def test_bad_order_ids_are_explained_without_a_read(store: CountingStore, order_id: Any, code: str) -> None:
    arguments = {"customer_id": "sub-alice", **({"order_id": order_id} if order_id is not None else {})}
    assert call(store, "get_order", **arguments)["error_code"] == code
    assert store.reads == 0


def test_unknown_or_missing_tool_name_is_refused(store: CountingStore) -> None:
    assert call(store, "delete_order", customer_id="sub-alice")["error_code"] == "unknown_tool"
    direct = handler.lambda_handler({"customer_id": "sub-alice"}, SimpleNamespace(), today=TODAY, store=store)
    assert direct["error_code"] == "unknown_tool"
    assert (
        handler.lambda_handler(["x"], context("get_order"), today=TODAY, store=store)["error_code"]
        == "invalid_arguments"
    )


def test_a_store_failure_is_a_readable_error_without_details(
    orders_table: dict[str, str], caplog: Any
) -> None:
    from scripts.localdev.orders import local_store

    missing = local_store(orders_table["ORDERS_ENDPOINT_URL"], "no-such-table")
    result = call(missing, "list_my_orders", customer_id="sub-alice")
    assert result == {
        "error": "Internal error while reading your orders; try again later.",
        "error_code": "internal",
    }
    assert "sub-alice" not in caplog.text and "no-such-table" not in caplog.text


def test_without_a_table_name_the_service_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERS_TABLE_NAME", raising=False)
    handler.default_store.cache_clear()
    result = handler.lambda_handler({"customer_id": "sub-alice"}, context("list_my_orders"), today=TODAY)
    assert result["error_code"] == "unavailable"
    handler.default_store.cache_clear()


def test_a_long_history_is_bounded_and_newest_first(moto_server: str) -> None:
    from scripts.localdev.orders import create_table, local_store

    name = f"orders-{uuid.uuid4().hex[:8]}"
    create_table(moto_server, name)
    store = local_store(moto_server, name)
    for n in range(55):
        store.put_new(
            {
                "customer_id": "sub-many",
                "order_id": f"ORD-{n:04d}",
                "purchase_date": "2025-01-01",
                "lines": [],
            }
        )
    result = call(store, "list_my_orders", customer_id="sub-many")
    assert result["count"] == 50 and result["truncated"] is True
    assert result["orders"][0]["order_id"] == "ORD-0054"


@pytest.mark.integration  # runs the unzipped bundle in its own interpreter
def test_the_packaged_bundle_is_self_contained(tmp_path: Path) -> None:
    # What `aws cloudformation package` zips (it follows the links to WarrantyCheck's files) runs alone.
    from awscli.customizations.cloudformation.artifact_exporter import make_zip

    archive = zipfile.ZipFile(make_zip(str(tmp_path / "bundle"), str(CODE)))
    assert sorted(archive.namelist()) == [
        "handler.py",
        "orders_store.py",
        "requests_store.py",
        "return_policy.json",
        "returns.py",
        "warranty_check.py",
        "warranty_terms.json",
        "write_tools.py",
    ]
    assert (
        archive.read("warranty_terms.json")
        == (REPO / "app" / "WarrantyCheck" / "warranty_terms.json").read_bytes()
    )
    run_dir = tmp_path / "run"
    archive.extractall(run_dir)

    # The Lambda runtime puts the code folder first on sys.path; -I leaves nothing else of ours there.
    probe = (
        "import sys; sys.path.insert(0, '.');"
        "import handler, types;"
        "ctx = types.SimpleNamespace(client_context=types.SimpleNamespace("
        "custom={'bedrockAgentCoreToolName': 'AccountTools___get_order'}));"
        "print(handler.lambda_handler({'order_id': 'ORD-1'}, ctx)['error_code']);"
        "import returns; print(len(returns.load_policy()['products']))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ORDERS_TABLE_NAME": "orders",
    }
    run = subprocess.run(
        [sys.executable, "-I", "-c", probe], cwd=run_dir, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.stdout.split() == ["missing_customer_id", "5"], run.stderr


def test_dates_are_seeded_relative_to_today() -> None:
    from scripts.deploy.seed_orders import resolve_dates

    assert resolve_dates({"a": {"days_ago": 2}, "b": [{"days_ahead": 1}], "c": "x"}, date(2026, 1, 1)) == {
        "a": "2025-12-30",
        "b": ["2026-01-02"],
        "c": "x",
    }
