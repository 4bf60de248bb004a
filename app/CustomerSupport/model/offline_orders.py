"""The offline model's script for the account tools (the customer's own orders and their warranty).

Tools are found by suffix (the gateway names them ``<Target>___<tool>``): ``list_my_orders``,
``get_order(order_id)``, ``check_order_warranty(order_id)``. Like a model that follows whatever the
conversation says, the script passes a customer id when the prompt names one ("orders of customer
sub-bob"): that is the prompt-injection case the agent's tool proxy must defeat, never the model.
"""

from __future__ import annotations

import json
import re
from typing import Any

LIST_ORDERS = "list_my_orders"
GET_ORDER = "get_order"
ORDER_WARRANTY = "check_order_warranty"
ACCOUNT_TOOLS = (LIST_ORDERS, GET_ORDER, ORDER_WARRANTY)

_ORDER_ID = re.compile(r"\bORD-[A-Za-z0-9-]+\b", re.IGNORECASE)
_ORDERS = re.compile(
    r"\bwhere(?:'s| is) my (?:order|package|parcel|delivery)|\bmy orders?\b|what did i (?:order|buy)"
    r"|\borders? (?:of|for|from)\b|\border (?:status|ORD-)",
    re.IGNORECASE,
)
# An id of someone else that an (injected) prompt asks the model to use.
_OTHER_CUSTOMER = re.compile(r"\b(?:customer|user)(?:[ _]id)?\s*[:=]?\s*(sub-[\w-]+|[\w-]*\d[\w-]*)", re.I)
_WORD = re.compile(r"[a-z]{4,}")


def tool_named(tools: set[str], suffix: str) -> str | None:
    """The listed tool whose name ends with `suffix`, if any."""
    return next((name for name in sorted(tools) if name.endswith(suffix)), None)


def is_order_question(prompt: str) -> bool:
    """Whether the prompt asks about the customer's orders."""
    return bool(_ORDERS.search(prompt) or _ORDER_ID.search(prompt))


def _with_injected_id(prompt: str, arguments: dict[str, Any]) -> dict[str, Any]:
    other = _OTHER_CUSTOMER.search(prompt)
    return {**arguments, "customer_id": other.group(1)} if other else arguments


def orders(prompt: str, tools: set[str], signed_out: bool = False) -> str | tuple[str, dict[str, Any]]:
    """The tool call for an order question, or the answer when the account tools are missing."""
    order_id = _ORDER_ID.search(prompt)
    name = tool_named(tools, GET_ORDER if order_id else LIST_ORDERS)
    if name is None and signed_out:
        return "Your orders need you to sign in. Please sign in and ask me again."
    if name is None:
        return "The order service is unavailable right now. Please try again later."
    arguments = {"order_id": order_id.group(0)} if order_id else {}
    return (name, _with_injected_id(prompt, arguments))


def order_warranty(prompt: str, tools: set[str]) -> str | tuple[str, dict[str, Any]] | None:
    """For "is my <product> under warranty": check by order id, else list the orders first."""
    order_id = _ORDER_ID.search(prompt)
    if order_id:
        name = tool_named(tools, ORDER_WARRANTY)
        return (name, _with_injected_id(prompt, {"order_id": order_id.group(0)})) if name else None
    name = tool_named(tools, LIST_ORDERS)
    return (name, _with_injected_id(prompt, {})) if name else None


def next_step(prompt: str, tool: str, result: str, tools: set[str]) -> tuple[str, dict[str, Any]] | None:
    """After list_my_orders for a warranty question: check the order holding the product named."""
    if not tool.endswith(LIST_ORDERS) or "warrant" not in prompt.lower():
        return None
    checker = tool_named(tools, ORDER_WARRANTY)
    if checker is None:
        return None
    words = set(_WORD.findall(prompt.lower())) - {"warranty", "still", "under", "covered", "with"}
    for order in _orders_in(result):
        text = json.dumps(order).lower()
        if order.get("order_id") and any(word.rstrip("s") in text for word in words):
            return (checker, {"order_id": str(order["order_id"])})
    return None


def _orders_in(result: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(result)
    except ValueError:
        return []
    if isinstance(data, dict):  # list_my_orders: {"orders": [...]}; get_order: {"order": {...}}
        data = data.get("orders", [data["order"]] if isinstance(data.get("order"), dict) else [])
    return [order for order in data if isinstance(order, dict)] if isinstance(data, list) else []


def describe(result: str) -> str | None:
    """An order listing as one readable line per order (None if `result` holds no orders)."""
    orders = _orders_in(result)
    if not orders:
        return None
    lines = []
    for order in orders:
        facts = [
            f"{key.replace('_', ' ')} {value}"
            for key, value in order.items()
            if key not in ("order_id", "customer_id", "lines") and isinstance(value, (str, int, float))
        ]
        shipping = order.get("shipping")
        if isinstance(shipping, dict):  # where the order is: carrier, tracking, (estimated) delivery
            facts.append("shipping " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in shipping.items()))
        items = [
            " ".join(str(v) for k, v in line.items() if isinstance(v, (str, int)) and k != "line")
            for line in order.get("lines", [])
            if isinstance(line, dict)
        ]
        lines.append(
            f"{order.get('order_id', 'order')}: " + "; ".join([*facts, *(f"item {i}" for i in items)])
        )
    return "\n".join(lines)
