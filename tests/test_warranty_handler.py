"""WarrantyCheck Lambda (app/WarrantyCheck/handler.py), its data, and tool_schemas/warranty_check.json."""

from __future__ import annotations

import importlib.util
import json
import logging
from datetime import date
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from tests.support.shapes import check_shape, service_shapes

REPO = Path(__file__).resolve().parents[1]
HANDLER_DIR = REPO / "app" / "WarrantyCheck"
TOOL_SCHEMA = REPO / "tool_schemas" / "warranty_check.json"
PRODUCTS = REPO / "app" / "CustomerSupport" / "tools" / "data" / "products.json"
TODAY = date(2025, 6, 15)


def _load_handler() -> ModuleType:
    # Loaded from its file, as Lambda does, instead of via a package the Lambda zip does not have.
    spec = importlib.util.spec_from_file_location("warranty_check_handler", HANDLER_DIR / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handler = _load_handler()


def gateway_context(tool_name: str = "WarrantyCheck___check_warranty") -> SimpleNamespace:
    """A Lambda context shaped like the one AgentCore Gateway sends (client_context.custom)."""
    custom = {
        "bedrockAgentCoreMessageVersion": "1.0",
        "bedrockAgentCoreAwsRequestId": "11111111-2222-3333-4444-555555555555",
        "bedrockAgentCoreMcpMessageId": "7",
        "bedrockAgentCoreGatewayId": "my-gateway-secure-abc123",
        "bedrockAgentCoreTargetId": "TARGET12345",
        "bedrockAgentCoreToolName": tool_name,
    }
    return SimpleNamespace(client_context=SimpleNamespace(custom=custom, env=None, client=None))


def call(event: Any, context: Any = None, today: date = TODAY) -> dict[str, Any]:
    result = handler.lambda_handler(event, context if context is not None else gateway_context(), today=today)
    # The gateway serialises the return value; anything not JSON-able would break the tool call.
    assert json.loads(json.dumps(result)) == result
    return result


# ---------------------------------------------------------------------------- success paths


def test_active_warranty_with_days_remaining() -> None:
    result = call({"product_id": "PROD-001", "purchase_date": "2025-01-10"})
    assert result == {
        "product_id": "PROD-001",
        "product_name": "Wireless Headphones",
        "warranty_months": 12,
        "purchase_date": "2025-01-10",
        "coverage_end_date": "2026-01-10",
        "status": "active",
        "days_remaining": (date(2026, 1, 10) - TODAY).days,
        "message": "Warranty active: coverage ends on 2026-01-10 (209 days remaining).",
    }
    assert result["days_remaining"] == 209


def test_expired_warranty_has_zero_days_remaining() -> None:
    result = call({"product_id": "PROD-003", "purchase_date": "2024-01-01"})
    assert result["status"] == "expired"
    assert result["coverage_end_date"] == "2024-07-01"
    assert result["days_remaining"] == 0
    assert "expired" in result["message"] and "2024-07-01" in result["message"]


@pytest.mark.parametrize(
    ("today", "status", "days"),
    [
        (date(2025, 7, 14), "active", 1),  # last covered day
        (date(2025, 7, 15), "expired", 0),  # coverage_end_date itself is no longer covered
        (date(2025, 7, 16), "expired", 0),
    ],
)
def test_boundary_around_coverage_end_date(today: date, status: str, days: int) -> None:
    result = call({"product_id": "PROD-003", "purchase_date": "2025-01-15"}, today=today)
    assert result["coverage_end_date"] == "2025-07-15"
    assert (result["status"], result["days_remaining"]) == (status, days)


def test_purchase_today_is_accepted_and_active() -> None:
    result = call({"product_id": "PROD-002", "purchase_date": TODAY.isoformat()})
    assert result["status"] == "active"
    assert result["coverage_end_date"] == "2027-06-15"
    assert result["days_remaining"] == (date(2027, 6, 15) - TODAY).days


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # clamped to a short month
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # leap day + a year
        (date(2024, 8, 31), 6, date(2025, 2, 28)),  # across a year end
        (date(2024, 3, 31), 1, date(2024, 4, 30)),
        (date(2024, 11, 15), 2, date(2025, 1, 15)),
        (date(2024, 5, 20), 24, date(2026, 5, 20)),
        (date(2024, 5, 20), 0, date(2024, 5, 20)),
    ],
)
def test_add_months_clamps_day_of_month(start: date, months: int, expected: date) -> None:
    assert handler.add_months(start, months) == expected


def test_month_end_clamping_reaches_the_response(monkeypatch: pytest.MonkeyPatch) -> None:
    # No catalog product has a 1-month warranty, so the case "Jan 31 + 1 month" uses injected terms.
    terms = {"PROD-900": {"name": "Test Cable", "warranty_months": 1}}
    monkeypatch.setattr(handler, "load_terms", lambda: terms)
    result = call({"product_id": "prod-900", "purchase_date": "2025-01-31"}, today=date(2025, 2, 27))
    assert result["coverage_end_date"] == "2025-02-28"
    assert (result["status"], result["days_remaining"]) == ("active", 1)


def test_no_purchase_date_returns_terms_without_status() -> None:
    result = call({"product_id": "PROD-005"})
    assert result["product_id"] == "PROD-005"
    assert result["product_name"] == "Mechanical Keyboard"
    assert result["warranty_months"] == 24
    assert "status" not in result and "days_remaining" not in result and "coverage_end_date" not in result
    assert "purchase date" in result["message"].lower()


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_purchase_date_counts_as_missing(blank: str | None) -> None:
    result = call({"product_id": "PROD-004", "purchase_date": blank})
    assert "status" not in result
    assert result["warranty_months"] == 12


@pytest.mark.parametrize("product_id", ["prod-002", "Prod-002", "  PROD-002  "])
def test_product_id_is_case_insensitive_and_trimmed(product_id: str) -> None:
    result = call({"product_id": product_id, "purchase_date": "2024-06-15"})
    assert result["product_id"] == "PROD-002"
    assert result["product_name"] == "Smart Watch"
    assert result["coverage_end_date"] == "2026-06-15"


def test_extra_arguments_are_ignored() -> None:
    result = call({"product_id": "PROD-001", "note": "customer says it crackles"})
    assert result["warranty_months"] == 12


# ---------------------------------------------------------------------------- error results


def assert_error(result: dict[str, Any], code: str, *fragments: str) -> None:
    assert set(result) == {"error", "error_code"}, result
    assert result["error_code"] == code
    for fragment in fragments:
        assert fragment in result["error"]


def test_unknown_product_lists_known_ids() -> None:
    result = call({"product_id": "PROD-999", "purchase_date": "2025-01-01"})
    assert_error(result, "unknown_product", "PROD-999", "PROD-001", "PROD-005")


@pytest.mark.parametrize("event", [{}, {"product_id": ""}, {"product_id": "  "}, {"product_id": 1}])
def test_missing_or_non_string_product_id(event: dict[str, Any]) -> None:
    assert_error(call(event), "missing_product_id", "product_id is required")


@pytest.mark.parametrize(
    "bad", ["15/01/2025", "2025-1-5", "20250115", "2025-W03-3", "2025-01-15T10:00", 20250115]
)
def test_badly_formatted_purchase_date(bad: Any) -> None:
    assert_error(
        call({"product_id": "PROD-001", "purchase_date": bad}), "invalid_purchase_date", "YYYY-MM-DD"
    )


@pytest.mark.parametrize("bad", ["2025-02-30", "2025-13-01", "2023-02-29"])
def test_impossible_calendar_date(bad: str) -> None:
    assert_error(
        call({"product_id": "PROD-001", "purchase_date": bad}), "invalid_purchase_date", "calendar date"
    )


def test_future_purchase_date() -> None:
    result = call({"product_id": "PROD-001", "purchase_date": "2025-06-16"})
    assert_error(result, "future_purchase_date", "future")


@pytest.mark.parametrize("event", [None, "PROD-001", ["PROD-001"], 42])
def test_non_object_event(event: Any) -> None:
    assert_error(call(event), "invalid_arguments", "JSON object")


@pytest.mark.parametrize(
    "tool_name", ["WarrantyCheck___delete_warranty", "check_warranty_v2", "OtherTarget___x"]
)
def test_unknown_tool_name(tool_name: str) -> None:
    result = call({"product_id": "PROD-001"}, gateway_context(tool_name))
    assert_error(result, "unknown_tool", "check_warranty")


def test_unexpected_failure_becomes_an_error_result(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> dict[str, Any]:
        raise OSError("terms file unreadable at /var/task/warranty_terms.json")

    monkeypatch.setattr(handler, "load_terms", broken)
    result = call({"product_id": "PROD-001"})
    assert_error(result, "internal", "Internal error")
    assert "/var/task" not in result["error"]


# ---------------------------------------------------------------------------- tool name resolution


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (gateway_context("WarrantyCheck___check_warranty"), "check_warranty"),
        (gateway_context("my-target-2___check_warranty"), "check_warranty"),  # target names may hold '-'
        (gateway_context("WarrantyCheck___tool___with___delims"), "tool___with___delims"),
        (gateway_context("check_warranty"), "check_warranty"),  # unprefixed name used as-is
        (gateway_context(""), "check_warranty"),
        (None, "check_warranty"),  # direct invocation without a context object
        (SimpleNamespace(), "check_warranty"),  # context without client_context attribute
        (SimpleNamespace(client_context=None), "check_warranty"),  # Lambda console / plain Invoke
        (SimpleNamespace(client_context=SimpleNamespace(custom=None)), "check_warranty"),
        (SimpleNamespace(client_context=SimpleNamespace(custom={"other": "x"})), "check_warranty"),
    ],
)
def test_resolve_tool_name(context: Any, expected: str) -> None:
    assert handler.resolve_tool_name(context) == expected


@pytest.mark.parametrize("context", [None, SimpleNamespace(client_context=None)])
def test_direct_invocation_without_client_context_works(context: Any) -> None:
    result = handler.lambda_handler(
        {"product_id": "PROD-001", "purchase_date": "2025-01-10"}, context, today=TODAY
    )
    assert result["status"] == "active"


def test_default_today_is_the_real_date() -> None:
    # Without injection the handler uses the current UTC date: a purchase today is valid, tomorrow is not.
    from datetime import datetime, timedelta, timezone

    today = datetime.now(timezone.utc).date()
    ok = handler.lambda_handler({"product_id": "PROD-001", "purchase_date": today.isoformat()}, None)
    later = (today + timedelta(days=2)).isoformat()
    future = handler.lambda_handler({"product_id": "PROD-001", "purchase_date": later}, None)
    assert ok["status"] == "active"
    assert future["error_code"] == "future_purchase_date"


# ---------------------------------------------------------------------------- logging


def test_logs_only_tool_name_and_outcome(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    call({"product_id": "PROD-001", "purchase_date": "2025-01-10"})
    call({"product_id": "PROD-001", "purchase_date": "2031-12-24"})
    call({"product_id": "PROD-777"})
    call({"product_id": "PROD-002"})
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "tool=check_warranty outcome=active",
        "tool=check_warranty outcome=error:future_purchase_date",
        "tool=check_warranty outcome=error:unknown_product",
        "tool=check_warranty outcome=terms",
    ]
    joined = "\n".join(messages)
    for secretish in ("2025-01-10", "2031-12-24", "PROD-777", "PROD-001"):
        assert secretish not in joined


# ---------------------------------------------------------------------------- data files


def _load_terms_file() -> dict[str, Any]:
    return json.loads((HANDLER_DIR / "warranty_terms.json").read_text(encoding="utf-8"))


def test_warranty_terms_file_is_well_formed() -> None:
    terms = _load_terms_file()
    assert terms, "warranty_terms.json is empty"
    for product_id, entry in terms.items():
        assert product_id == product_id.upper() and product_id.startswith("PROD-")
        assert set(entry) == {"name", "warranty_months"}
        assert isinstance(entry["name"], str) and entry["name"]
        assert isinstance(entry["warranty_months"], int) and entry["warranty_months"] > 0


def test_lambda_terms_agree_with_agent_catalog() -> None:
    # The Lambda is deployed on its own and cannot read the agent's catalog, so the two must be kept equal.
    assert PRODUCTS.is_file(), f"{PRODUCTS.relative_to(REPO)} is missing"
    catalog = json.loads(PRODUCTS.read_text(encoding="utf-8"))
    assert isinstance(catalog, list) and catalog, "products.json: expected a non-empty list of products"
    catalog_terms = {
        product["id"].upper(): {"name": product["name"], "warranty_months": product["warranty_months"]}
        for product in catalog
    }
    assert len(catalog_terms) == len(catalog), "products.json has duplicate ids"
    assert _load_terms_file() == catalog_terms


# ---------------------------------------------------------------------------- tool schema file


def test_tool_schema_file_matches_the_gateway_tooldefinitions_format() -> None:
    # The CDK construct uploads the file unchanged as the target's toolSchema.s3 object, which must
    # hold what toolSchema.inlinePayload would: a JSON array of ToolDefinition objects.
    tools = json.loads(TOOL_SCHEMA.read_text(encoding="utf-8"))
    assert isinstance(tools, list) and len(tools) == 1
    check_shape(tools, "ToolDefinitions", service_shapes(), "tools")
    # The agentcore CLI additionally insists on a non-empty name and description per entry.
    assert tools[0]["name"] and tools[0]["description"]


def test_tool_schema_matches_the_handler() -> None:
    (tool,) = json.loads(TOOL_SCHEMA.read_text(encoding="utf-8"))
    assert tool["name"] == handler.TOOL_NAME
    schema = tool["inputSchema"]
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"product_id", "purchase_date"}
    assert schema["required"] == ["product_id"]
    assert all(
        prop["type"] == "string" and len(prop["description"]) > 20 for prop in schema["properties"].values()
    )
    assert "YYYY-MM-DD" in schema["properties"]["purchase_date"]["description"]
