"""Seed demo orders for one user of a deployed pool; running it again changes nothing.

Usage: python -m scripts.deploy.seed_orders --username NAME [--prefix /app/customersupport/agentcore/]
                                            [--region REGION] [--orders FILE]

Reads ``<prefix>pool_id`` and ``<prefix>orders_table_name`` from SSM (written by
scripts/deploy/deploy-prerequisites.sh), looks the user's ``sub`` up in Cognito (AdminGetUser: the
orders' partition key is the sub, never the username), and writes the orders that FILE (default
scripts/localdev/data/demo_orders.json) lists for that username, else its ``default`` orders, each
with a conditional put: an order id the customer already has is kept as it is. Prints one line per
order (``written`` or ``kept``). Exits 1 with one line on stderr when a parameter or the user is
missing or AWS refuses. Needs ssm:GetParameters, cognito-idp:AdminGetUser and dynamodb:PutItem;
AWS_ENDPOINT_URL and the usual credential variables and profiles are honoured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

REPO = Path(__file__).resolve().parents[2]
DEMO_ORDERS = REPO / "scripts" / "localdev" / "data" / "demo_orders.json"
DEFAULT_PREFIX = "/app/customersupport/agentcore/"
if str(REPO / "app" / "AccountTools") not in sys.path:  # the Lambda's own data-access code
    sys.path.insert(0, str(REPO / "app" / "AccountTools"))

from orders_store import OrderStore  # noqa: E402

__all__ = [
    "DEMO_ORDERS",
    "OrderStore",
    "SeedError",
    "main",
    "orders_for",
    "resolve_dates",
    "run",
    "seed",
    "user_sub",
]


class SeedError(Exception):
    """Why seeding cannot go on (one line for the user)."""


def resolve_dates(value: Any, today: date) -> Any:
    """``{"days_ago": N}`` / ``{"days_ahead": N}`` become ISO dates relative to `today`, recursively."""
    if isinstance(value, Mapping):
        if set(value) == {"days_ago"}:
            return (today - timedelta(days=int(value["days_ago"]))).isoformat()
        if set(value) == {"days_ahead"}:
            return (today + timedelta(days=int(value["days_ahead"]))).isoformat()
        return {key: resolve_dates(item, today) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_dates(item, today) for item in value]
    return value


def orders_for(data: Mapping[str, Any], username: str, sub: str, today: date) -> list[dict[str, Any]]:
    """The orders `data` lists for `username` (else its default ones), owned by `sub`."""
    templates = data.get("users", {}).get(username, data.get("default", []))
    return [
        {**resolve_dates(order, today), "customer_id": sub, "order_id": str(order["order_id"]).upper()}
        for order in templates
    ]


def seed(store: OrderStore, orders: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """Write each order unless it exists: [(order id, written?)]."""
    return [(order["order_id"], store.put_new(order)) for order in orders]


def user_sub(idp: Any, pool_id: str, username: str) -> str:
    """The `sub` attribute of `username` in the pool (SeedError if there is no such user)."""
    try:
        user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "UserNotFoundException":
            raise SeedError(f"no user {username!r} in user pool {pool_id}") from None
        raise
    sub = next((a["Value"] for a in user.get("UserAttributes", []) if a["Name"] == "sub"), "")
    if not sub:
        raise SeedError(f"user {username!r} has no sub attribute")
    return str(sub)


def parameters(ssm: Any, prefix: str) -> tuple[str, str]:
    """(pool id, orders table name) from SSM under `prefix`."""
    names = [f"{prefix}pool_id", f"{prefix}orders_table_name"]
    found = {p["Name"]: p["Value"] for p in ssm.get_parameters(Names=names)["Parameters"]}
    missing = [name for name in names if not found.get(name)]
    if missing:
        raise SeedError(f"missing SSM parameter(s): {', '.join(missing)} (deploy the prerequisites first)")
    return found[names[0]], found[names[1]]


def run(username: str, prefix: str, region: str | None, orders_file: Path, today: date) -> list[str]:
    """Seed and return the report lines."""
    data = json.loads(orders_file.read_text(encoding="utf-8"))
    # AWS_REGION as the aws CLI v2 and Lambda use it; boto3 itself reads only AWS_DEFAULT_REGION.
    session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
    if not session.region_name:
        raise SeedError("no AWS region: pass --region or set AWS_REGION")
    pool_id, table = parameters(session.client("ssm"), prefix)
    sub = user_sub(session.client("cognito-idp"), pool_id, username)
    store = OrderStore.connect(table, region=session.region_name)
    results = seed(store, orders_for(data, username, sub, today))
    return [f"{order_id}: {'written' if written else 'kept'}" for order_id, written in results]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--username", required=True, help="the Cognito username whose orders to seed")
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help=f"SSM parameter prefix (default {DEFAULT_PREFIX})"
    )
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument("--orders", type=Path, default=DEMO_ORDERS, help="orders data file (JSON)")
    args = parser.parse_args(argv)
    try:
        lines = run(args.username, args.prefix, args.region, args.orders, datetime.now(timezone.utc).date())
    except SeedError as err:
        print(f"seed_orders: error: {err}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as err:
        # The error class and AWS's code only: messages can quote request values.
        code = err.response.get("Error", {}).get("Code", "") if isinstance(err, ClientError) else ""
        print(f"seed_orders: error: AWS refused: {type(err).__name__} {code}".rstrip(), file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    print(f"seeded {sum(line.endswith('written') for line in lines)} new order(s) for {args.username}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
