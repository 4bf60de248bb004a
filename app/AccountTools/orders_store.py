"""Orders in DynamoDB: one partition per customer, read only through that customer's key.

Table layout (declared once in scripts/deploy/prerequisites.yaml, resource ``OrdersTable``):

* partition key ``customer_id`` (S): the customer's Cognito ``sub``;
* sort key ``order_id`` (S), e.g. ``ORD-1001``;
* attributes ``purchase_date`` (``YYYY-MM-DD``), ``status``, ``lines`` (list of
  ``{"product_id", "quantity"}``) and optionally ``shipping`` (``{"carrier", "tracking_number",
  "estimated_delivery"}``).

Every read names the customer's partition: ``Query`` on ``customer_id = :c`` or ``GetItem`` on the
full key. There is no scan and no index by order id, so no code path can reach another customer's
orders by order id alone. ``put_new`` (conditional put) is for seeding only: the Lambda's role
cannot write.

Used by the AccountTools Lambda, the local stack's seeding and scripts/deploy/seed_orders.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

TABLE_ENV = "ORDERS_TABLE_NAME"
PARTITION_KEY = "customer_id"
SORT_KEY = "order_id"
# Bounded answers: a customer with more orders gets the newest MAX_ORDERS and "truncated".
MAX_ORDERS = 50
# Every AWS call is bounded: 2 s to connect, 5 s to read, one retry.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})


def _plain(value: Any) -> Any:
    """DynamoDB values as JSON-ready Python: Decimal -> int (or float), recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class OrderStore:
    """The orders table; every read is confined to one customer's partition."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @classmethod
    def connect(
        cls,
        table_name: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        **credentials: str,
    ) -> OrderStore:
        """A store on `table_name` (endpoint/region/credentials default to the AWS environment)."""
        resource = boto3.resource(
            "dynamodb", endpoint_url=endpoint_url, region_name=region, config=CLIENT_CONFIG, **credentials
        )
        return cls(resource.Table(table_name))

    def list_orders(self, customer_id: str) -> tuple[list[dict[str, Any]], bool]:
        """The customer's newest orders (highest order id first) and whether more exist."""
        response = self._table.query(
            KeyConditionExpression="#pk = :customer",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":customer": customer_id},
            ScanIndexForward=False,
            Limit=MAX_ORDERS,
        )
        items = [cast(dict[str, Any], _plain(item)) for item in response.get("Items", [])]
        return items, "LastEvaluatedKey" in response

    def get_order(self, customer_id: str, order_id: str) -> dict[str, Any] | None:
        """The customer's order `order_id`, or None when this customer has no such order."""
        response = self._table.get_item(Key={PARTITION_KEY: customer_id, SORT_KEY: order_id})
        item = response.get("Item")
        return cast(dict[str, Any], _plain(item)) if item is not None else None

    def put_new(self, order: Mapping[str, Any]) -> bool:
        """Write `order` unless its key exists (True if written): seeding twice changes nothing."""
        try:
            self._table.put_item(
                Item=dict(order),
                ConditionExpression="attribute_not_exists(#pk) AND attribute_not_exists(#sk)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
