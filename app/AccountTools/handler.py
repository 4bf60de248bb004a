"""AccountTools: AWS Lambda target of the AgentCore Gateway for a customer's own orders.

Tools (schemas in ``tool_schemas/account_tools.json``; the gateway names them
``AccountTools___<tool>``):

* ``list_my_orders(customer_id)`` -> ``{"orders": [order, ...], "count", "truncated"}``, newest
  order id first, at most ``orders_store.MAX_ORDERS``;
* ``get_order(customer_id, order_id)`` -> ``{"order": order}``;
* ``check_order_warranty(customer_id, order_id, line=1)`` -> the warranty of the order's line
  ``line`` (1-based), with the purchase date taken from the order: WarrantyCheck's result
  (``product_id``, ``product_name``, ``warranty_months``, ``purchase_date``, ``coverage_end_date``,
  ``status``, ``days_remaining``, ``message``) plus ``order_id`` and ``line``;
* ``start_return``, ``list_my_returns``, ``create_support_ticket``: see ``write_tools.py`` (returns
  and tickets in the requests table, every write with an audit record).

An order is ``{"order_id", "purchase_date", "status", "lines": [{"line", "product_id",
"product_name", "quantity"}], "shipping"?}``.

Invocation contract: as for WarrantyCheck (``app/WarrantyCheck/handler.py``): ``event`` is the
tool's arguments, ``context.client_context.custom["bedrockAgentCoreToolName"]`` names the tool.
A call without that name is refused (``unknown_tool``): three tools share this function.

Identity: ``customer_id`` is the caller's Cognito ``sub``. This function cannot verify it (a Lambda
target never sees the caller's token); the agent sets it from the verified token and the gateway's
Cedar policy permits the call only when it equals ``principal.id``. Here it is required, and it is
the partition every read is confined to (``orders_store``): an order id of another customer is
answered exactly like one that does not exist (``order_not_found``, same bytes).

Failures are values, never exceptions: ``{"error": "<what to do>", "error_code": "<code>"}``.
Logs carry the tool and the outcome only, never a customer id, order id or argument.

Bundle: this folder only (``warranty_check.py`` and ``warranty_terms.json`` are links to
WarrantyCheck's files; ``aws cloudformation package`` zips their content). boto3 comes with the
Lambda runtime.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from datetime import date, datetime, timezone
from typing import Any

from orders_store import TABLE_ENV, OrderStore
from requests_store import AUDIT_ENV, REQUESTS_ENV, RequestStore
from warranty_check import TOOL_NAME_DELIMITER, ToolError, check_warranty, load_terms
from write_tools import WRITE_TOOLS, run_write_tool

TOOLS = ("list_my_orders", "get_order", "check_order_warranty", *WRITE_TOOLS)
# A Cognito sub is a UUID; local issuers use short ids. No whitespace or control characters.
_CUSTOMER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")
_ORDER_ID = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,63}")

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


def tool_name(context: Any) -> str:
    """The un-prefixed tool name from the gateway's client context ("" if absent)."""
    custom = getattr(getattr(context, "client_context", None), "custom", None)
    full_name = custom.get("bedrockAgentCoreToolName") if isinstance(custom, dict) else None
    # Target names cannot contain "_", so the first delimiter ends the prefix.
    return str(full_name or "").partition(TOOL_NAME_DELIMITER)[2] or str(full_name or "")


def _customer_id(arguments: dict[str, Any]) -> str:
    value = arguments.get("customer_id")
    if not isinstance(value, str) or not value.strip():
        raise ToolError("missing_customer_id", "customer_id is required: the signed-in customer's id.")
    if not _CUSTOMER_ID.fullmatch(value.strip()):
        raise ToolError("invalid_customer_id", "customer_id is not a valid customer id.")
    return value.strip()


def _order_id(arguments: dict[str, Any]) -> str:
    value = arguments.get("order_id")
    if not isinstance(value, str) or not value.strip():
        raise ToolError("missing_order_id", "order_id is required: an order id such as ORD-1001.")
    order_id = value.strip().upper()
    if not _ORDER_ID.fullmatch(order_id):
        raise ToolError("invalid_order_id", "order_id must look like ORD-1001 (letters, digits, '-').")
    return order_id


def _line(arguments: dict[str, Any]) -> int:
    value = arguments.get("line", 1)
    if value is None or value == "":
        return 1
    # bool is an int in Python; "2" is what some models send for an integer.
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ToolError("invalid_line", "line must be a whole number (1 for the first line of the order).")
    return int(str(value).strip())


def _present(order: dict[str, Any], terms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An order as the tools return it: lines numbered from 1 and named from the catalog."""
    lines = []
    for number, raw in enumerate(order.get("lines", []), start=1):
        product_id = str(raw.get("product_id", "")).upper()
        product = terms.get(product_id, {})
        lines.append(
            {
                "line": number,
                "product_id": product_id,
                "product_name": product.get("name", product_id),
                "quantity": raw.get("quantity", 1),
            }
        )
    shown = {
        "order_id": order["order_id"],
        "purchase_date": order.get("purchase_date"),
        "status": order.get("status"),
        "lines": lines,
    }
    if order.get("shipping"):
        shown["shipping"] = order["shipping"]
    return shown


def _find(store: OrderStore, arguments: dict[str, Any]) -> dict[str, Any]:
    customer_id, order_id = _customer_id(arguments), _order_id(arguments)
    order = store.get_order(customer_id, order_id)
    if order is None:
        # Also the answer for another customer's order: nothing tells the two apart.
        raise ToolError("order_not_found", f"No order {order_id} was found for this customer.")
    return order


def run_tool(
    name: str, arguments: dict[str, Any], store: OrderStore, today: date, requests: RequestStore | None = None
) -> dict[str, Any]:
    """One tool call; raises ToolError for caller-fixable problems."""
    if name in WRITE_TOOLS:
        if requests is None:
            raise ToolError(
                "unavailable", "The returns and tickets service is not available; try again later."
            )
        return run_write_tool(
            name, arguments, _customer_id(arguments), lambda a: _find(store, a), requests, today
        )
    terms = load_terms()
    if name == "list_my_orders":
        orders, truncated = store.list_orders(_customer_id(arguments))
        return {"orders": [_present(o, terms) for o in orders], "count": len(orders), "truncated": truncated}
    if name == "get_order":
        return {"order": _present(_find(store, arguments), terms)}
    if name == "check_order_warranty":
        order = _find(store, arguments)
        number, lines = _line(arguments), order.get("lines", [])
        if not 1 <= number <= len(lines):
            raise ToolError(
                "line_not_found",
                f"Order {order['order_id']} has {len(lines)} line(s); line must be 1..{len(lines)}.",
            )
        product_id = str(lines[number - 1].get("product_id", ""))
        result = check_warranty(
            {"product_id": product_id, "purchase_date": order.get("purchase_date")}, today, terms
        )
        return {"order_id": order["order_id"], "line": number, **result}
    raise ToolError("unknown_tool", f"Unknown tool {name!r}; this function implements {', '.join(TOOLS)}.")


@functools.lru_cache(maxsize=1)
def default_store() -> OrderStore | None:
    """The table named by ORDERS_TABLE_NAME, made on first use (None when it is not set)."""
    table = os.environ.get(TABLE_ENV, "").strip()
    return OrderStore.connect(table) if table else None


@functools.lru_cache(maxsize=1)
def default_requests() -> RequestStore | None:
    """The tables named by REQUESTS_TABLE_NAME and AUDIT_TABLE_NAME (None unless both are set)."""
    requests, audit = os.environ.get(REQUESTS_ENV, "").strip(), os.environ.get(AUDIT_ENV, "").strip()
    return RequestStore.connect(requests, audit) if requests and audit else None


def lambda_handler(
    event: Any,
    context: Any,
    today: date | None = None,
    store: OrderStore | None = None,
    requests: RequestStore | None = None,
) -> dict[str, Any]:
    """Lambda entry point. ``today`` and the stores are injectable; Lambda passes two arguments."""
    name = tool_name(context)
    today = today or datetime.now(timezone.utc).date()
    try:
        if not isinstance(event, dict):
            raise ToolError("invalid_arguments", "The tool arguments must be a JSON object.")
        if name not in TOOLS:
            raise ToolError(
                "unknown_tool", f"Unknown tool {name!r}; this function implements {', '.join(TOOLS)}."
            )
        _customer_id(event)  # refused before anything is read or even connected
        store = store or default_store()
        if store is None:
            logger.error("tool=%s outcome=error:not_configured (%s unset)", name, TABLE_ENV)
            return {
                "error": "The order service is not available; try again later.",
                "error_code": "unavailable",
            }
        if name in WRITE_TOOLS:
            requests = requests or default_requests()
        result = run_tool(name, event, store, today, requests)
    except ToolError as err:
        logger.info("tool=%s outcome=error:%s", name, err.code)
        return {"error": err.message, "error_code": err.code}
    except Exception as err:  # noqa: BLE001 - a store or code failure must still be a readable result
        logger.error("tool=%s outcome=error:internal (%s)", name, type(err).__name__)
        return {
            "error": "Internal error while reading your orders; try again later.",
            "error_code": "internal",
        }
    logger.info("tool=%s outcome=ok", name)
    return result
