"""Returns, support tickets and their audit trail in DynamoDB, one partition per customer.

Tables (declared in scripts/deploy/prerequisites.yaml: ``RequestsTable``, ``AuditTable``):

* requests: partition ``customer_id`` (the Cognito ``sub``), sort ``record_id``:
  ``RETURN#<order_id>#<line>`` (a return authorization), ``TICKET#<ticket_id>`` (a ticket for a
  person), ``COUNTER#open_tickets`` (how many of the customer's tickets are open);
* audit: partition ``customer_id``, sort ``audit_id`` = ``<ISO time>#<random hex>``; append-only
  (conditional put; the Lambda's role may PutItem there and nothing else).

Every write is one ``TransactWriteItems`` with its audit record: the record exists iff the write
happened. A return's key is deterministic, so asking twice yields the first return
(``attribute_not_exists`` fails and the stored item is returned). A ticket raises the counter under
the condition ``open_tickets < max``, in the same transaction: concurrent requests cannot pass
the bound.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, cast

import boto3
from botocore.exceptions import ClientError
from orders_store import CLIENT_CONFIG, PARTITION_KEY, _plain

REQUESTS_ENV = "REQUESTS_TABLE_NAME"
AUDIT_ENV = "AUDIT_TABLE_NAME"
SORT_KEY = "record_id"
AUDIT_SORT_KEY = "audit_id"
COUNTER = "COUNTER#open_tickets"
MAX_RETURNS = 50


class TicketLimitReached(Exception):
    """The customer already has the maximum number of open tickets."""


class Conflict(Exception):
    """A concurrent transaction on the same items won; nothing was written (the caller may retry)."""


def return_id(customer_id: str, order_id: str, line: int) -> str:
    """The deterministic id of the return of (customer, order, line): RMA-<12 hex>."""
    digest = hashlib.sha256(f"{customer_id}\n{order_id}\n{line}".encode()).hexdigest()
    return f"RMA-{digest[:12].upper()}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _conflict(err: ClientError) -> bool:
    reasons = err.response.get("CancellationReasons", [])
    return err.response.get("Error", {}).get("Code") == "TransactionConflictException" or any(
        r.get("Code") == "TransactionConflict" for r in reasons
    )


def _cancelled_by_condition(err: ClientError, index: int) -> bool:
    if err.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = err.response.get("CancellationReasons", [])
    return len(reasons) > index and reasons[index].get("Code") == "ConditionalCheckFailed"


class RequestStore:
    """The requests and audit tables; every key names the customer's partition."""

    def __init__(self, requests: Any, audit: Any) -> None:
        self._requests, self._audit = requests, audit
        self._client = requests.meta.client  # the resource's client: Python values, not typed JSON

    @classmethod
    def connect(
        cls,
        requests_table: str,
        audit_table: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        **credentials: str,
    ) -> RequestStore:
        """A store on the two tables (endpoint/region/credentials default to the AWS environment)."""
        resource = boto3.resource(
            "dynamodb", endpoint_url=endpoint_url, region_name=region, config=CLIENT_CONFIG, **credentials
        )
        return cls(resource.Table(requests_table), resource.Table(audit_table))

    def _audit_put(self, customer_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        at = _now()
        item = {
            PARTITION_KEY: customer_id,
            AUDIT_SORT_KEY: f"{at}#{secrets.token_hex(8)}",
            "at": at,
            **record,
        }
        return {
            "Put": {
                "TableName": self._audit.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(#sk)",
                "ExpressionAttributeNames": {"#sk": AUDIT_SORT_KEY},
            }
        }

    def create_return(self, item: Mapping[str, Any], audit: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store the return `item` with its audit record; (the stored return, whether it is new)."""
        customer_id = str(item[PARTITION_KEY])
        put = {
            "Put": {
                "TableName": self._requests.name,
                "Item": dict(item),
                "ConditionExpression": "attribute_not_exists(#sk)",
                "ExpressionAttributeNames": {"#sk": SORT_KEY},
            }
        }
        try:
            self._client.transact_write_items(TransactItems=[put, self._audit_put(customer_id, audit)])
        except ClientError as err:
            if _conflict(err):
                raise Conflict() from None
            if not _cancelled_by_condition(err, 0):
                raise
            existing = self.get(customer_id, str(item[SORT_KEY]))
            if existing is None:  # cannot happen: nothing deletes returns
                raise
            return existing, False
        return cast(dict[str, Any], _plain(dict(item))), True

    def get(self, customer_id: str, record_id: str) -> dict[str, Any] | None:
        """The customer's record `record_id` (strongly consistent), or None."""
        item = self._requests.get_item(
            Key={PARTITION_KEY: customer_id, SORT_KEY: record_id}, ConsistentRead=True
        ).get("Item")
        return cast(dict[str, Any], _plain(item)) if item is not None else None

    def list_returns(self, customer_id: str) -> tuple[list[dict[str, Any]], bool]:
        """The customer's returns (at most MAX_RETURNS) and whether more exist."""
        response = self._requests.query(
            KeyConditionExpression="#pk = :c AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":c": customer_id, ":prefix": "RETURN#"},
            Limit=MAX_RETURNS,
        )
        items = [cast(dict[str, Any], _plain(i)) for i in response.get("Items", [])]
        return items, "LastEvaluatedKey" in response

    def create_ticket(self, item: Mapping[str, Any], audit: Mapping[str, Any], max_open: int) -> None:
        """Store the ticket `item`, its audit record and the raised counter, or TicketLimitReached."""
        customer_id = str(item[PARTITION_KEY])
        raise_counter = {
            "Update": {
                "TableName": self._requests.name,
                "Key": {PARTITION_KEY: customer_id, SORT_KEY: COUNTER},
                "UpdateExpression": "SET #n = if_not_exists(#n, :zero) + :one",
                "ConditionExpression": "attribute_not_exists(#n) OR #n < :max",
                "ExpressionAttributeNames": {"#n": "open_tickets"},
                "ExpressionAttributeValues": {":zero": 0, ":one": 1, ":max": max_open},
            }
        }
        put = {
            "Put": {
                "TableName": self._requests.name,
                "Item": dict(item),
                "ConditionExpression": "attribute_not_exists(#sk)",
                "ExpressionAttributeNames": {"#sk": SORT_KEY},
            }
        }
        try:
            self._client.transact_write_items(
                TransactItems=[raise_counter, put, self._audit_put(customer_id, audit)]
            )
        except ClientError as err:
            if _conflict(err):
                raise Conflict() from None
            if _cancelled_by_condition(err, 0):
                raise TicketLimitReached() from None
            raise
