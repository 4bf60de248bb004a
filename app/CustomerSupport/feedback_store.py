"""Answer ratings in DynamoDB: one partition per customer, one item per rated turn.

Table layout (declared once in scripts/deploy/prerequisites.yaml, resource ``FeedbackTable``):

* partition key ``customer_id`` (S): the customer's Cognito ``sub`` (from the verified token);
* sort key ``trace_id`` (S): the rated turn's trace id (32 hex digits);
* attributes ``rating`` (``up``/``down``), ``session_id`` and ``at`` (ISO 8601 UTC).

A second rating of the same turn replaces the first, on condition that it comes from the session
the first came from. Each customer's ratings per UTC day are counted in an item of the same
partition whose sort key is ``daily#YYYY-MM-DD`` (never a trace id: those are hex); past the
limit the counter's conditional update fails and nothing is written. Counters carry
``expires_at`` (epoch seconds) for the table's TTL.

boto3 blocks: callers run these methods on a thread, never on an event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from envvars import COUNT, OPTIONAL_TEXT, OPTIONAL_URL, SECONDS, Var

FEEDBACK_TABLE = Var(
    "FEEDBACK_TABLE_NAME",
    OPTIONAL_TEXT,
    None,
    "DynamoDB table of answer ratings (deployed: from SSM, see docs/feedback.md); unset → no thumbs",
)
FEEDBACK_ENDPOINT = Var(
    "FEEDBACK_ENDPOINT_URL",
    OPTIONAL_URL,
    None,
    "local runs: the DynamoDB endpoint of that table (moto; dummy credentials)",
)
FEEDBACK_DAILY_LIMIT = Var(
    "FEEDBACK_DAILY_LIMIT", COUNT, 200, "ratings one customer may send per UTC day; more get 429"
)
FEEDBACK_TIMEOUT_SECONDS = Var(
    "FEEDBACK_TIMEOUT_SECONDS",
    SECONDS,
    3.0,
    "connect and read timeout of each feedback DynamoDB call (2 attempts)",
)
FEEDBACK_VARS: tuple[Var[Any], ...] = (
    FEEDBACK_TABLE,
    FEEDBACK_ENDPOINT,
    FEEDBACK_DAILY_LIMIT,
    FEEDBACK_TIMEOUT_SECONDS,
)
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
COUNTER_PREFIX = "daily#"
COUNTER_TTL = timedelta(days=2)


@dataclass(frozen=True)
class FeedbackSettings:
    """Where ratings go and how many a customer may send (defaults: the declarations above)."""

    table: str | None = None
    endpoint_url: str | None = None
    daily_limit: int = FEEDBACK_DAILY_LIMIT.default
    timeout_seconds: float = FEEDBACK_TIMEOUT_SECONDS.default


def load_feedback_settings(env: Any) -> FeedbackSettings:
    """The feedback settings in `env` (a mapping); ConfigError names a bad variable."""
    return FeedbackSettings(
        FEEDBACK_TABLE.read(env),
        FEEDBACK_ENDPOINT.read(env),
        FEEDBACK_DAILY_LIMIT.read(env),
        FEEDBACK_TIMEOUT_SECONDS.read(env),
    )


class OverLimit(Exception):
    """The customer has sent today's allowance of ratings."""


class OtherSession(Exception):
    """The turn was rated from another session; the rating stays as it was."""


class FeedbackStore:
    """The ratings table; every write names the customer's own partition."""

    def __init__(self, settings: FeedbackSettings, region: str | None) -> None:
        import boto3
        from botocore.config import Config

        seconds = settings.timeout_seconds
        config = Config(
            connect_timeout=seconds, read_timeout=seconds, retries={"max_attempts": 2, "mode": "standard"}
        )
        # A local endpoint (moto) gets fixed dummy credentials: a developer's own never go there.
        local = LOCAL_CREDENTIALS if settings.endpoint_url else {}
        self._client: Any = boto3.client(
            "dynamodb",
            endpoint_url=settings.endpoint_url,
            region_name=region or ("us-east-1" if settings.endpoint_url else None),
            config=config,
            **local,
        )
        self._table = settings.table
        self._limit = settings.daily_limit

    def put(self, sub: str, trace_id: str, rating: str, session_id: str, now: datetime) -> None:
        """Count the rating against today's allowance, then store it (OverLimit, OtherSession)."""
        from botocore.exceptions import ClientError

        day = now.date().isoformat()
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"customer_id": {"S": sub}, "trace_id": {"S": COUNTER_PREFIX + day}},
                UpdateExpression="ADD votes :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(votes) OR votes < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self._limit)},
                    ":expires": {"N": str(int((now + COUNTER_TTL).timestamp()))},
                },
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise OverLimit from None
            raise
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "customer_id": {"S": sub},
                    "trace_id": {"S": trace_id},
                    "rating": {"S": rating},
                    "session_id": {"S": session_id},
                    "at": {"S": now.isoformat(timespec="seconds")},
                },
                # Replace only a rating given in the same session (or none): PK = sub already
                # confines the write to this customer's partition.
                ConditionExpression="attribute_not_exists(trace_id) OR session_id = :session",
                ExpressionAttributeValues={":session": {"S": session_id}},
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise OtherSession from None
            raise

    def get(self, sub: str, trace_id: str) -> dict[str, str] | None:
        """The stored rating of one turn of `sub` (tests and support tooling)."""
        item = self._client.get_item(
            TableName=self._table,
            Key={"customer_id": {"S": sub}, "trace_id": {"S": trace_id}},
            ConsistentRead=True,
        ).get("Item")
        return {k: v["S"] for k, v in item.items() if "S" in v} if item else None
