"""scripts/deploy/seed_orders.py against moto over HTTP: Cognito user -> sub, conditional puts, idempotent."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from scripts.localdev.orders import create_table
from tests.support.aws import aws_cli_env, boto_client
from tests.support.processes import REPO

DEMO = json.loads((REPO / "scripts" / "localdev" / "data" / "demo_orders.json").read_text())


@pytest.fixture
def deployed_pool(moto_server: str) -> dict[str, str]:
    """What deploy-prerequisites leaves behind, made directly: a pool with a user, the table, SSM."""
    suffix = uuid.uuid4().hex[:8]
    idp = boto_client("cognito-idp", moto_server)
    pool_id = idp.create_user_pool(PoolName=f"seed-{suffix}")["UserPool"]["Id"]
    idp.admin_create_user(UserPoolId=pool_id, Username="carol")
    attributes = idp.admin_get_user(UserPoolId=pool_id, Username="carol")["UserAttributes"]
    sub = next(a["Value"] for a in attributes if a["Name"] == "sub")
    table = f"orders-{suffix}"
    create_table(moto_server, table)
    prefix = f"/seed/{suffix}/"
    ssm = boto_client("ssm", moto_server)
    ssm.put_parameter(Name=f"{prefix}pool_id", Value=pool_id, Type="String")
    ssm.put_parameter(Name=f"{prefix}orders_table_name", Value=table, Type="String")
    return {"pool_id": pool_id, "sub": sub, "table": table, "prefix": prefix}


def seed(moto_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.deploy.seed_orders", *args],
        cwd=REPO,
        env=aws_cli_env(moto_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def items(moto_url: str, table: str) -> list[dict[str, Any]]:
    return list(boto_client("dynamodb", moto_url).scan(TableName=table)["Items"])


def test_seeds_the_users_sub_once_and_a_rerun_changes_nothing(
    moto_server: str, deployed_pool: dict[str, str], tmp_path: Path
) -> None:
    first = seed(moto_server, tmp_path, "--username", "carol", "--prefix", deployed_pool["prefix"])
    assert first.returncode == 0, first.stderr
    expected = [o["order_id"] for o in DEMO["default"]]
    assert first.stdout.splitlines() == [
        *(f"{o}: written" for o in expected),
        "seeded 2 new order(s) for carol",
    ]
    stored = items(moto_server, deployed_pool["table"])
    # The partition key is the user's sub from Cognito, never the username.
    assert {i["customer_id"]["S"] for i in stored} == {deployed_pool["sub"]}
    assert sorted(i["order_id"]["S"] for i in stored) == sorted(expected)
    assert all(len(i["purchase_date"]["S"]) == 10 for i in stored)  # relative dates resolved

    # A customer's own change survives a re-run: puts are conditional.
    boto_client("dynamodb", moto_server).update_item(
        TableName=deployed_pool["table"],
        Key={"customer_id": {"S": deployed_pool["sub"]}, "order_id": {"S": expected[0]}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "returned"}},
    )
    second = seed(moto_server, tmp_path, "--username", "carol", "--prefix", deployed_pool["prefix"])
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        *(f"{o}: kept" for o in expected),
        "seeded 0 new order(s) for carol",
    ]
    after = {i["order_id"]["S"]: i for i in items(moto_server, deployed_pool["table"])}
    assert len(after) == len(expected) and after[expected[0]]["status"]["S"] == "returned"


def test_an_unknown_user_or_missing_parameters_fail_with_one_line(
    moto_server: str, deployed_pool: dict[str, str], tmp_path: Path
) -> None:
    unknown = seed(moto_server, tmp_path, "--username", "nobody", "--prefix", deployed_pool["prefix"])
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr == f"seed_orders: error: no user 'nobody' in user pool {deployed_pool['pool_id']}\n"
    missing = seed(moto_server, tmp_path, "--username", "carol", "--prefix", "/nothing/here/")
    assert missing.returncode == 1
    assert missing.stderr.startswith("seed_orders: error: missing SSM parameter(s): /nothing/here/pool_id")
    assert items(moto_server, deployed_pool["table"]) == []


@pytest.mark.integration  # the stand-in as dev-stack.sh starts it: its own process
def test_the_local_stand_in_seeds_each_issuer_user_under_their_sub(tmp_path: Path) -> None:
    from scripts.localdev.orders import local_store
    from tests.support.processes import alive, start_process, stop_process, wait_until

    config = tmp_path / "issuer-config.json"
    config.write_text(
        json.dumps({"users": [{"username": "demo", "sub": "s-demo"}, {"username": "zed", "sub": "s-zed"}]})
    )
    ready = tmp_path / "orders.ready"
    proc = start_process(
        [
            sys.executable,
            "-m",
            "scripts.localdev.orders",
            "--issuer-config",
            str(config),
            "--ready-file",
            str(ready),
        ],
        cwd=REPO,
        log=tmp_path / "orders.log",
    )
    try:
        assert wait_until(ready.exists, timeout=60), (tmp_path / "orders.log").read_text()
        info = json.loads(ready.read_text())
        store = local_store(info["dynamodb_url"], info["orders_table"])
        demo, _ = store.list_orders("s-demo")
        assert sorted(o["order_id"] for o in demo) == sorted(o["order_id"] for o in DEMO["users"]["demo"])
        zed, _ = store.list_orders("s-zed")  # a user the data file does not name: the default orders
        assert sorted(o["order_id"] for o in zed) == sorted(o["order_id"] for o in DEMO["default"])
        assert store.list_orders("demo") == ([], False)  # keyed by sub, never by username
    finally:
        stop_process(proc)
    assert not alive(proc.pid)
