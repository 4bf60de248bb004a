"""WarrantyCheck: AWS Lambda target of the AgentCore Gateway, implementing the `check_warranty` tool.

Invocation contract (AgentCore Gateway -> Lambda target):

* ``event`` is the tool's arguments as one flat JSON object, exactly as described by
  ``tool_schemas/warranty_check.json``, e.g. ``{"product_id": "PROD-001", "purchase_date": "2024-05-01"}``.
* ``context.client_context.custom`` carries the gateway metadata: ``bedrockAgentCoreToolName``
  (``"<TargetName>___<toolName>"``, three underscores), ``bedrockAgentCoreGatewayId``,
  ``bedrockAgentCoreTargetId``, ``bedrockAgentCoreMessageVersion``, ``bedrockAgentCoreAwsRequestId``
  and ``bedrockAgentCoreMcpMessageId``. Direct invocations (console, tests) have no client context;
  they are treated as ``check_warranty``.
* The returned object is serialised to JSON and handed to the MCP client as the tool result.

Response shapes (always a JSON object, never an exception):

* purchase date given::

    {"product_id", "product_name", "warranty_months", "purchase_date",
     "coverage_end_date", "status": "active" | "expired", "days_remaining", "message"}

  ``coverage_end_date`` is purchase date + ``warranty_months`` calendar months (day clamped to the
  end of a shorter month, e.g. Jan 31 + 1 month = Feb 28/29). Coverage runs up to, but not
  including, that date: on ``coverage_end_date`` itself the status is ``expired``.
  ``days_remaining`` is 0 once expired.
* no purchase date: ``{"product_id", "product_name", "warranty_months", "message"}`` -- no
  ``status``, the message says a purchase date is needed to determine it.
* failure: ``{"error": "<what is wrong and how to fix it>", "error_code": "<machine code>"}``.

Failures are returned, not raised: a raised exception becomes a Lambda function error, which the
gateway reports as an opaque internal error (unless its exceptionLevel is DEBUG), so the model
could neither explain nor correct the problem.

Standard library only: the function ships without dependencies.
"""

from __future__ import annotations

import calendar
import functools
import json
import logging
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

TOOL_NAME = "check_warranty"
# Separator between target name and tool name in the gateway's tool names.
TOOL_NAME_DELIMITER = "___"
TERMS_FILE = Path(__file__).with_name("warranty_terms.json")

# Strict shape check first: date.fromisoformat accepts other ISO forms (20240501, 2024-W18-3) on 3.11+.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


class ToolError(Exception):
    """A problem with the tool call that the caller can fix; becomes an ``{"error": ...}`` result."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@functools.lru_cache(maxsize=1)
def load_terms() -> dict[str, dict[str, Any]]:
    """Warranty terms keyed by upper-case product id, read once per Lambda execution environment."""
    raw = json.loads(TERMS_FILE.read_text(encoding="utf-8"))
    return {product_id.upper(): terms for product_id, terms in raw.items()}


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, clamping the day to the target month's length."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def resolve_tool_name(context: Any) -> str:
    """The un-prefixed tool name from the gateway's client context (``check_warranty`` if absent)."""
    client_context = getattr(context, "client_context", None)
    custom = getattr(client_context, "custom", None)
    full_name = custom.get("bedrockAgentCoreToolName") if isinstance(custom, dict) else None
    if not full_name:
        return TOOL_NAME
    # Target names cannot contain "_", so the first delimiter ends the prefix; tool names may contain "_".
    _, found, tool_name = str(full_name).partition(TOOL_NAME_DELIMITER)
    return tool_name if found else str(full_name)


def _parse_purchase_date(value: Any, today: date) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        # Models often send "" for an optional argument they do not have.
        return None
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise ToolError("invalid_purchase_date", "purchase_date must be a date in the form YYYY-MM-DD.")
    try:
        purchased = date.fromisoformat(value.strip())
    except ValueError:
        raise ToolError(
            "invalid_purchase_date", "purchase_date is not a real calendar date (expected YYYY-MM-DD)."
        ) from None
    if purchased > today:
        raise ToolError("future_purchase_date", "purchase_date is in the future; check the date of purchase.")
    return purchased


def check_warranty(
    arguments: dict[str, Any], today: date, terms: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Compute the warranty result for one tool call; raises ToolError for caller-fixable problems."""
    product_id = arguments.get("product_id")
    if not isinstance(product_id, str) or not product_id.strip():
        raise ToolError("missing_product_id", "product_id is required: a product id string such as PROD-001.")
    product_id = product_id.strip().upper()
    product = terms.get(product_id)
    if product is None:
        known = ", ".join(sorted(terms))
        raise ToolError("unknown_product", f"Unknown product_id {product_id!r}. Known products: {known}.")

    months = int(product["warranty_months"])
    result: dict[str, Any] = {
        "product_id": product_id,
        "product_name": product["name"],
        "warranty_months": months,
    }
    purchased = _parse_purchase_date(arguments.get("purchase_date"), today)
    if purchased is None:
        result["message"] = (
            f"{product['name']} has a {months}-month warranty from the date of purchase. "
            "Provide the purchase date (YYYY-MM-DD) to find out whether it is still active."
        )
        return result

    end = add_months(purchased, months)
    days_remaining = max((end - today).days, 0)
    status = "active" if days_remaining > 0 else "expired"
    result.update(
        purchase_date=purchased.isoformat(),
        coverage_end_date=end.isoformat(),
        status=status,
        days_remaining=days_remaining,
    )
    if status == "active":
        result["message"] = (
            f"Warranty active: coverage ends on {end.isoformat()} ({days_remaining} days remaining)."
        )
    else:
        result["message"] = f"Warranty expired: coverage ended on {end.isoformat()}."
    return result


def lambda_handler(event: Any, context: Any, today: date | None = None) -> dict[str, Any]:
    """Lambda entry point. ``today`` is injectable for tests; Lambda itself passes only two arguments."""
    tool_name = resolve_tool_name(context)
    if today is None:
        # Lambda runs in UTC; an explicit zone keeps the result independent of TZ settings.
        today = datetime.now(timezone.utc).date()
    try:
        if tool_name != TOOL_NAME:
            raise ToolError(
                "unknown_tool", f"Unknown tool {tool_name!r}; this function implements {TOOL_NAME}."
            )
        if not isinstance(event, dict):
            raise ToolError("invalid_arguments", "The tool arguments must be a JSON object.")
        result = check_warranty(event, today, load_terms())
    except ToolError as err:
        # Outcome only: arguments (purchase dates, ids typed by customers) stay out of the logs.
        logger.info("tool=%s outcome=error:%s", tool_name, err.code)
        return {"error": err.message, "error_code": err.code}
    except Exception as err:  # noqa: BLE001 - a bug must still produce a readable tool result
        # The exception type only: messages can embed argument values.
        logger.error("tool=%s outcome=error:internal (%s)", tool_name, type(err).__name__)
        return {
            "error": "Internal error while checking the warranty; try again later.",
            "error_code": "internal",
        }
    logger.info("tool=%s outcome=%s", tool_name, result.get("status", "terms"))
    return result
