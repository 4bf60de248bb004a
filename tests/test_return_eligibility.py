"""Return eligibility and refunds (app/AccountTools/returns.py) as a table, over the shipped data.

Pure functions: no table, no network. Each row is one order line asked to be returned on one day.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support.processes import REPO

CODE = REPO / "app" / "AccountTools"
if str(CODE) not in sys.path:
    sys.path.insert(0, str(CODE))

from returns import load_policy, quote  # noqa: E402
from warranty_check import ToolError  # noqa: E402

TODAY = date(2026, 6, 30)


def order(days_ago: int, *lines: tuple[str, int], status: str = "delivered") -> dict[str, Any]:
    return {
        "order_id": "ORD-1",
        "purchase_date": (TODAY - timedelta(days=days_ago)).isoformat(),
        "status": status,
        "lines": [{"product_id": p, "quantity": q} for p, q in lines],
    }


# (case, order, line, quantity, expected refund or error code)
CASES: list[tuple[str, dict[str, Any], int, int | None, str]] = [
    ("electronics on day 0", order(0, ("PROD-002", 1)), 1, None, "249.99"),
    ("electronics, last day of 30", order(30, ("PROD-005", 1)), 1, None, "129.99"),
    ("electronics, day 31", order(31, ("PROD-005", 1)), 1, None, "return_window_closed"),
    ("accessories, last day of 14", order(14, ("PROD-003", 1)), 1, None, "39.99"),
    ("accessories, day 15", order(15, ("PROD-003", 1)), 1, None, "return_window_closed"),
    ("audio, day 15 (refund window)", order(15, ("PROD-001", 1)), 1, None, "79.99"),
    ("audio, day 16: defective only, a person", order(16, ("PROD-001", 1)), 1, None, "return_window_closed"),
    ("whole line by default", order(3, ("PROD-004", 2)), 1, None, "109.98"),
    ("part of a line", order(3, ("PROD-004", 2)), 1, 1, "54.99"),
    ("the second line", order(3, ("PROD-002", 1), ("PROD-004", 2)), 2, None, "109.98"),
    ("three watches (over a 500 limit)", order(3, ("PROD-002", 3)), 1, None, "749.97"),
    ("more than bought", order(3, ("PROD-004", 2)), 1, 3, "invalid_quantity"),
    ("zero units", order(3, ("PROD-004", 2)), 1, 0, "invalid_quantity"),
    ("no such line", order(3, ("PROD-004", 2)), 2, None, "line_not_found"),
    ("line 0", order(3, ("PROD-004", 2)), 0, None, "line_not_found"),
    ("not delivered yet", order(1, ("PROD-002", 1), status="shipped"), 1, None, "order_not_delivered"),
    ("processing", order(1, ("PROD-002", 1), status="processing"), 1, None, "order_not_delivered"),
    ("a product without a price", order(1, ("PROD-999", 1)), 1, None, "not_returnable"),
]


@pytest.mark.parametrize(
    ("case", "the_order", "line", "quantity", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_eligibility_and_refund(
    case: str, the_order: dict[str, Any], line: int, quantity: int | None, expected: str
) -> None:
    policy = load_policy()
    if expected[0].isdigit():
        offer = quote(the_order, line, quantity, TODAY, policy)
        assert offer.refund == Decimal(expected) and offer.currency == "USD"
        assert offer.window_ends >= TODAY
    else:
        with pytest.raises(ToolError) as refused:
            quote(the_order, line, quantity, TODAY, policy)
        assert refused.value.code == expected, refused.value.message


def test_a_category_marked_not_returnable_is_refused_with_its_reason() -> None:
    policy = {**load_policy()}
    policy["products"] = {**policy["products"], "PROD-SW": {"category": "software", "unit_price": "59.00"}}
    with pytest.raises(ToolError) as refused:
        quote(order(1, ("PROD-SW", 1)), 1, None, TODAY, policy)
    assert refused.value.code == "not_returnable"
    assert "Software cannot be returned" in refused.value.message


def test_the_data_copies_the_catalogs_windows_and_prices() -> None:
    # Copied, not imported: this bundle stands alone. The copy must not drift from the catalog.
    import json

    catalog = REPO / "app" / "CustomerSupport" / "tools" / "data"
    products = {p["id"]: p for p in json.loads((catalog / "products.json").read_text())}
    windows = json.loads((catalog / "return_policies.json").read_text())
    policy = load_policy()
    for product_id, entry in policy["products"].items():
        assert Decimal(entry["unit_price"]) == Decimal(str(products[product_id]["price"])), product_id
        assert entry["category"] == products[product_id]["category"], product_id
    for name, rules in windows.items():
        # audio: 15 days for a refund (the catalog's "any reason within 15 days"), else the catalog's window
        expected = 15 if name == "audio" else rules["return_window_days"]
        assert policy["categories"][name]["return_window_days"] == expected, name
