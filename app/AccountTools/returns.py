"""Return eligibility and the refund of one order line: pure functions over ``return_policy.json``.

``quote(order, line, quantity, today, policy)`` -> ``Quote`` or ``ToolError``:

* the order's ``status`` must be one of ``returnable_statuses`` (``order_not_delivered``);
* the line must exist (``line_not_found``) and ``1 <= quantity <= the line's quantity``
  (``invalid_quantity``);
* the product's category must be returnable (``not_returnable``: e.g. opened software, or a product
  the data does not price);
* ``today - purchase_date <= return_window_days`` of the category (``return_window_closed``);
* the refund is ``unit_price * quantity``, exact to the cent (``Decimal``, never float).

The data is the catalog's return policy, copied (this bundle imports nothing from the agent).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from warranty_check import ToolError

POLICY_FILE = Path(__file__).with_name("return_policy.json")
CENT = Decimal("0.01")


@functools.lru_cache(maxsize=1)
def load_policy(path: str = str(POLICY_FILE)) -> dict[str, Any]:
    """The return-policy data (read once per process)."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Quote:
    """An eligible return of `quantity` units of one order line, and what it refunds."""

    order_id: str
    line: int
    product_id: str
    quantity: int
    category: str
    refund: Decimal
    currency: str
    refund_method: str
    window_ends: date  # the last day a return may start


def quote(
    order: dict[str, Any], line: int, quantity: int | None, today: date, policy: dict[str, Any]
) -> Quote:
    """The return of `quantity` (None: all) units of `order`'s line `line` (1-based), if eligible."""
    order_id = str(order["order_id"])
    status = str(order.get("status", ""))
    if status not in policy.get("returnable_statuses", []):
        raise ToolError(
            "order_not_delivered",
            f"Order {order_id} is {status or 'not delivered'}; a return can start once it is delivered.",
        )
    lines = order.get("lines", [])
    if not 1 <= line <= len(lines):
        raise ToolError(
            "line_not_found", f"Order {order_id} has {len(lines)} line(s); line must be 1..{len(lines)}."
        )
    bought = int(lines[line - 1].get("quantity", 1))
    wanted = bought if quantity is None else quantity
    if not 1 <= wanted <= bought:
        raise ToolError(
            "invalid_quantity",
            f"Line {line} of order {order_id} has {bought} unit(s); quantity must be 1..{bought}.",
        )
    product_id = str(lines[line - 1].get("product_id", "")).upper()
    product = policy.get("products", {}).get(product_id)
    category = policy.get("categories", {}).get(product["category"]) if product else None
    if product is None or category is None or category.get("returnable", True) is False:
        reason = (category or {}).get("reason", "This product cannot be returned through the chat.")
        raise ToolError("not_returnable", f"{reason} A person can look at the case if you ask for one.")
    window = int(category["return_window_days"])
    window_ends = date.fromisoformat(str(order["purchase_date"])) + timedelta(days=window)
    if today > window_ends:
        raise ToolError(
            "return_window_closed",
            f"The {window}-day return window for this item ended on {window_ends.isoformat()}.",
        )
    refund = (Decimal(str(product["unit_price"])) * wanted).quantize(CENT)
    return Quote(
        order_id,
        line,
        product_id,
        wanted,
        str(product["category"]),
        refund,
        str(policy.get("currency", "USD")),
        str(category.get("refund", "")),
        window_ends,
    )
