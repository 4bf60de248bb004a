"""The local orders table: a moto DynamoDB server, the table as the template declares it, demo orders.

Run: ``python -m scripts.localdev.orders --issuer-config FILE [--port N] [--ready-file F]``. It
serves moto on 127.0.0.1, creates the table with the key schema and billing mode of
``OrdersTable`` in scripts/deploy/prerequisites.yaml (read from the template, so the two cannot
drift), seeds each user of the issuer's config with the orders scripts/localdev/data/demo_orders.json
lists for that username (keyed by the user's ``sub``, as in a deployed pool), also creates
the (empty) answer ratings table ``FeedbackTable`` the same way, writes
``{"dynamodb_url", "orders_table", "feedback_table"}`` to the ready file and serves until stopped.
scripts/localdev/dev-stack.sh starts it; the local gateway reads the table through the Lambda's own
data-access code (app/AccountTools/orders_store.py).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import boto3

from scripts.deploy.seed_orders import DEMO_ORDERS, OrderStore, orders_for, seed
from scripts.localdev.paths import REPO

TEMPLATE = REPO / "scripts" / "deploy" / "prerequisites.yaml"
TABLE_RESOURCE = "OrdersTable"
LOCAL_TABLE = "customersupport-local-orders"
FEEDBACK_RESOURCE = "FeedbackTable"  # answer ratings (docs/feedback.md): empty, on the same server
LOCAL_FEEDBACK_TABLE = "customersupport-local-feedback"
REGION = "us-east-1"
# moto accepts any credentials; fixed ones keep a developer's real credentials out of local calls.
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def table_definition(template: Path = TEMPLATE, resource: str = TABLE_RESOURCE) -> dict[str, Any]:
    """CreateTable arguments (without the name) from the template's `resource` table."""
    from cfnlint.decode import cfn_yaml

    props = cfn_yaml.load(str(template))["Resources"][resource]["Properties"]
    return {key: props[key] for key in ("AttributeDefinitions", "KeySchema", "BillingMode")}


def create_table(endpoint_url: str, name: str, resource: str = TABLE_RESOURCE) -> None:
    """Create the table `name` on `endpoint_url` (moto) as the template declares `resource`."""
    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=REGION, **LOCAL_CREDENTIALS)
    client.create_table(TableName=name, **table_definition(resource=resource))
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})


def local_store(endpoint_url: str, name: str) -> OrderStore:
    """The Lambda's data-access code on the local table."""
    return OrderStore.connect(name, endpoint_url=endpoint_url, region=REGION, **LOCAL_CREDENTIALS)


def seed_users(store: OrderStore, users: dict[str, str], today: date, data_file: Path = DEMO_ORDERS) -> int:
    """Seed every `users` entry (username -> sub); returns how many orders were written."""
    data = json.loads(data_file.read_text(encoding="utf-8"))
    written = 0
    for username, sub in users.items():
        written += sum(new for _, new in seed(store, orders_for(data, username, sub, today)))
    return written


def account_tools_handler(env: Mapping[str, str]) -> dict[str, Callable[..., Any]]:
    """The AccountTools Lambda bound to ORDERS_TABLE_NAME at ORDERS_ENDPOINT_URL (if both are set)."""
    from scripts.localdev.gateway import DEFAULT_HANDLERS, load_handler

    table, endpoint = env.get("ORDERS_TABLE_NAME", ""), env.get("ORDERS_ENDPOINT_URL", "")
    if not (table and endpoint):
        return {}  # the Lambda then answers "unavailable" (tests without orders need none)
    handler: Callable[..., Any] = load_handler(DEFAULT_HANDLERS["AccountTools"])
    return {"AccountTools": partial(handler, store=local_store(endpoint, table))}


def main(argv: list[str] | None = None) -> None:
    """Serve moto with the seeded orders table until SIGTERM/SIGINT."""
    from moto.server import ThreadedMotoServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer-config", type=Path, required=True, help="the local issuer's config (users)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--ready-file", type=Path, help="write the URL and table name here as JSON")
    args = parser.parse_args(argv)
    config = json.loads(args.issuer_config.read_text(encoding="utf-8"))
    users = {str(u["username"]): str(u["sub"]) for u in config.get("users", [])}

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    url = "http://{}:{}".format(*server.get_host_and_port())
    create_table(url, LOCAL_TABLE)
    create_table(url, LOCAL_FEEDBACK_TABLE, FEEDBACK_RESOURCE)
    written = seed_users(local_store(url, LOCAL_TABLE), users, datetime.now(timezone.utc).date())
    print(f"dynamodb_url: {url} table: {LOCAL_TABLE} seeded: {written} order(s)", flush=True)
    if args.ready_file:
        ready = {"dynamodb_url": url, "orders_table": LOCAL_TABLE, "feedback_table": LOCAL_FEEDBACK_TABLE}
        args.ready_file.write_text(json.dumps(ready))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
