"""The local orders table: a moto DynamoDB server, the table as the template declares it, demo orders.

Run: ``python -m scripts.localdev.orders --issuer-config FILE [--port N] [--ready-file F]``. It
serves moto on 127.0.0.1, creates the table with the key schema and billing mode of
``OrdersTable`` in scripts/deploy/prerequisites.yaml (read from the template, so the two cannot
drift), seeds each user of the issuer's config with the orders scripts/localdev/data/demo_orders.json
lists for that username (keyed by the user's ``sub``, as in a deployed pool), creates the returns/
tickets and audit tables beside it (``RequestsTable``, ``AuditTable``; named ``<orders>-requests``
and ``<orders>-audit`` unless REQUESTS_TABLE_NAME / AUDIT_TABLE_NAME say otherwise) and the (empty)
answer ratings table ``FeedbackTable``, writes ``{"dynamodb_url", "orders_table", "feedback_table",
...}`` to the ready file and serves until stopped.
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
from typing import TYPE_CHECKING, Any

import boto3

from scripts.deploy.seed_orders import DEMO_ORDERS, OrderStore, orders_for, seed
from scripts.localdev.paths import REPO

if TYPE_CHECKING:
    from requests_store import RequestStore

TEMPLATE = REPO / "scripts" / "deploy" / "prerequisites.yaml"
TABLE_RESOURCE = "OrdersTable"
# The account tools' other tables, created beside the orders table: (template resource, name suffix).
COMPANION_TABLES = {
    "REQUESTS_TABLE_NAME": ("RequestsTable", "-requests"),
    "AUDIT_TABLE_NAME": ("AuditTable", "-audit"),
}
LOCAL_TABLE = "customersupport-local-orders"
FEEDBACK_RESOURCE = "FeedbackTable"  # answer ratings (docs/feedback.md): empty, on the same server
LOCAL_FEEDBACK_TABLE = "customersupport-local-feedback"
REGION = "us-east-1"
# moto accepts any credentials; fixed ones keep a developer's real credentials out of local calls.
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def table_definition(template: Path = TEMPLATE, resource: str = TABLE_RESOURCE) -> dict[str, Any]:
    """CreateTable arguments (without the name) from the template's table `resource`."""
    from cfnlint.decode import cfn_yaml

    props = cfn_yaml.load(str(template))["Resources"][resource]["Properties"]
    return {key: props[key] for key in ("AttributeDefinitions", "KeySchema", "BillingMode")}


def companion_names(orders_table: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """{"REQUESTS_TABLE_NAME", "AUDIT_TABLE_NAME"} of the tables beside `orders_table`."""
    env = env or {}
    return {var: env.get(var) or f"{orders_table}{suffix}" for var, (_, suffix) in COMPANION_TABLES.items()}


def create_table(endpoint_url: str, name: str, resource: str = TABLE_RESOURCE) -> None:
    """Create the table `name` on `endpoint_url` (moto) as the template declares `resource`.

    The orders table brings its companions (returns/tickets, audit); waits at most 10 s per table.
    """
    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=REGION, **LOCAL_CREDENTIALS)
    tables = {name: resource}
    if resource == TABLE_RESOURCE:
        tables.update({companion_names(name)[var]: res for var, (res, _) in COMPANION_TABLES.items()})
    for table, resource in tables.items():
        client.create_table(TableName=table, **table_definition(resource=resource))
        client.get_waiter("table_exists").wait(
            TableName=table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
        )


def local_requests(
    endpoint_url: str, orders_table: str, env: Mapping[str, str] | None = None
) -> RequestStore:
    """The Lambda's returns/tickets/audit code on the tables beside `orders_table`."""
    # Importable once seed_orders has put the Lambda's folder on sys.path (as for OrderStore).
    from requests_store import RequestStore

    names = companion_names(orders_table, env)
    return RequestStore.connect(
        names["REQUESTS_TABLE_NAME"],
        names["AUDIT_TABLE_NAME"],
        endpoint_url=endpoint_url,
        region=REGION,
        **LOCAL_CREDENTIALS,
    )


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
    from scripts.localdev.lambda_targets import DEFAULT_HANDLERS, load_handler

    table, endpoint = env.get("ORDERS_TABLE_NAME", ""), env.get("ORDERS_ENDPOINT_URL", "")
    if not (table and endpoint):
        return {}  # the Lambda then answers "unavailable" (tests without orders need none)
    handler: Callable[..., Any] = load_handler(DEFAULT_HANDLERS["AccountTools"])
    requests = local_requests(endpoint, table, env)
    return {"AccountTools": partial(handler, store=local_store(endpoint, table), requests=requests)}


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
        ready.update(
            {var.lower().removesuffix("_name"): n for var, n in companion_names(LOCAL_TABLE).items()}
        )
        args.ready_file.write_text(json.dumps(ready))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
