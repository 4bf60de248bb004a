"""The account tools that write: ``start_return``, ``create_support_ticket``; and ``list_my_returns``.

* ``start_return(customer_id, order_id, line, quantity?, refund_amount, session_id?, trace_id?)``
  -> ``{"return": {...}, "created": bool}``. The order must be the caller's (``order_not_found``
  otherwise), eligible by ``returns.quote``, and ``refund_amount`` must equal the refund computed
  here (``refund_mismatch``): the gateway's Cedar limit reads ``refund_amount``, this check makes
  it true. One return per (customer, order, line): asking again returns the first one
  (``created: false``), whatever the new arguments.
* ``list_my_returns(customer_id)`` -> ``{"returns": [...], "count", "truncated"}``.
* ``create_support_ticket(customer_id, summary, order_id?, session_id?, trace_id?)`` ->
  ``{"ticket": {...}}``; at most ``MAX_OPEN_TICKETS`` (environment, default 3) open tickets per
  customer, more is ``ticket_limit_reached`` and no ticket.

Every write is stored with an audit record (``requests_store``): who (``customer_id``, the
verified ``sub`` the gateway's policy tied to it), the tool, its arguments without free text
(no ``summary``), the outcome and id, ``session_id`` and ``trace_id`` as the agent passed them.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from orders_store import PARTITION_KEY
from requests_store import SORT_KEY, Conflict, RequestStore, TicketLimitReached, return_id
from returns import CENT, load_policy, quote
from warranty_check import ToolError

WRITE_TOOLS = ("start_return", "list_my_returns", "create_support_ticket")
MAX_OPEN_TICKETS_ENV = "MAX_OPEN_TICKETS"
DEFAULT_MAX_OPEN_TICKETS = 3
MAX_SUMMARY_CHARS = 500
# Session ids are UUIDs; trace ids are X-Ray ("Root=1-...;Parent=...;Sampled=1") or W3C ids.
_TRACE_CONTEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:;=/-]{0,255}")
# Printable text, newlines and tabs; no other control characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def max_open_tickets() -> int:
    """The per-customer bound on open tickets (MAX_OPEN_TICKETS, default 3, at least 1)."""
    raw = os.environ.get(MAX_OPEN_TICKETS_ENV, "").strip()
    return max(1, int(raw)) if raw.isdigit() else DEFAULT_MAX_OPEN_TICKETS


def _whole(arguments: dict[str, Any], name: str, default: int | None) -> int | None:
    value = arguments.get(name)
    if value is None or value == "":
        if default is None and name == "line":
            raise ToolError("missing_line", "line is required: which line of the order (1 = the first).")
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ToolError(f"invalid_{name}", f"{name} must be a whole number.")
    return int(str(value).strip())


def _refund_amount(arguments: dict[str, Any]) -> Decimal:
    value = arguments.get("refund_amount")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ToolError(
            "missing_refund_amount", "refund_amount is required: the refund the customer confirmed."
        )
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0:
        raise ToolError("invalid_refund_amount", "refund_amount must be an amount such as 249.99.")
    return amount


def _trace_context(arguments: dict[str, Any]) -> dict[str, str]:
    found = {}
    for name in ("session_id", "trace_id"):
        value = arguments.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or not _TRACE_CONTEXT.fullmatch(value):
            raise ToolError(f"invalid_{name}", f"{name} is not a valid id.")
        found[name] = value
    return found


def _summary(arguments: dict[str, Any]) -> str:
    value = arguments.get("summary")
    if not isinstance(value, str) or not value.strip():
        raise ToolError("missing_summary", "summary is required: what the person should help with.")
    text = value.strip()
    if len(text) > MAX_SUMMARY_CHARS or _CONTROL.search(text):
        raise ToolError(
            "invalid_summary", f"summary must be plain text of at most {MAX_SUMMARY_CHARS} characters."
        )
    return text


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in (PARTITION_KEY, SORT_KEY)}


def run_write_tool(
    name: str,
    arguments: dict[str, Any],
    customer_id: str,
    find_order: Callable[[dict[str, Any]], dict[str, Any]],
    requests: RequestStore,
    today: date,
) -> dict[str, Any]:
    """One call of a tool in WRITE_TOOLS; raises ToolError for caller-fixable problems."""
    try:
        return _run(name, arguments, customer_id, find_order, requests, today)
    except Conflict:
        raise ToolError(
            "busy", "Another request on this account is in progress; nothing was done. Try again."
        ) from None


def _run(
    name: str,
    arguments: dict[str, Any],
    customer_id: str,
    find_order: Callable[[dict[str, Any]], dict[str, Any]],
    requests: RequestStore,
    today: date,
) -> dict[str, Any]:
    if name == "list_my_returns":
        returns, truncated = requests.list_returns(customer_id)
        return {"returns": [_shown(r) for r in returns], "count": len(returns), "truncated": truncated}
    trace = _trace_context(arguments)
    if name == "start_return":
        line = _whole(arguments, "line", None) or 0
        quantity = _whole(arguments, "quantity", None)
        amount = _refund_amount(arguments)
        order = find_order(arguments)
        rma = return_id(customer_id, order["order_id"], line)
        key = f"RETURN#{order['order_id']}#{line}"
        existing = requests.get(customer_id, key)
        if existing is not None:
            return {"return": _shown(existing), "created": False}
        offer = quote(order, line, quantity, today, load_policy())
        if amount.quantize(CENT) != amount or amount != offer.refund:
            raise ToolError(
                "refund_mismatch",
                f"The refund for this return is {offer.refund} {offer.currency}; "
                f"confirm that amount, not {amount}.",
            )
        item = {
            PARTITION_KEY: customer_id,
            SORT_KEY: key,
            "return_id": rma,
            "status": "authorized",
            "order_id": offer.order_id,
            "lines": [{"line": line, "product_id": offer.product_id, "quantity": offer.quantity}],
            "refund": {
                "amount": str(offer.refund),
                "currency": offer.currency,
                "method": offer.refund_method,
            },
            "return_by": offer.window_ends.isoformat(),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        audit = {
            "tool": name,
            "arguments": {
                "order_id": offer.order_id,
                "line": line,
                "quantity": offer.quantity,
                "refund_amount": str(amount),
            },
            "outcome": "created",
            "result_id": rma,
            **trace,
        }
        stored, created = requests.create_return(item, audit)
        return {"return": _shown(stored), "created": created}
    if name == "create_support_ticket":
        summary = _summary(arguments)
        order_id = find_order(arguments)["order_id"] if arguments.get("order_id") else None
        ticket_id = f"TCK-{secrets.token_hex(5).upper()}"
        item = {
            PARTITION_KEY: customer_id,
            SORT_KEY: f"TICKET#{ticket_id}",
            "ticket_id": ticket_id,
            "status": "open",
            "summary": summary,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **({"order_id": order_id} if order_id else {}),
        }
        # The summary is free text the customer typed: in the ticket, never in the audit trail.
        audit = {
            "tool": name,
            "arguments": {"summary_chars": len(summary), **({"order_id": order_id} if order_id else {})},
            "outcome": "created",
            "result_id": ticket_id,
            **trace,
        }
        limit = max_open_tickets()
        try:
            requests.create_ticket(item, audit, limit)
        except TicketLimitReached:
            raise ToolError(
                "ticket_limit_reached",
                f"You already have {limit} open support tickets; a person will answer those first. "
                "No new ticket was created.",
            ) from None
        shown = _shown(item)
        shown.pop("summary")
        return {"ticket": shown, "message": "A person from the support team will follow up on this ticket."}
    raise ToolError("unknown_tool", f"Unknown tool {name!r}.")
