"""Returns in the web chat against the real stack (real Chromium; agent, Cedar gateway, Lambda on moto).

tests/test_webchat_confirm.py proves the buttons against a recording MCP server; here the same
clicks go through the agent process, the local gateway with the manifest's policies enforced and
the AccountTools Lambda on moto, and the assertions read the requests and audit tables: a
confirmed return is stored once and the customer sees its id; a cancelled one leaves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from playwright.sync_api import expect

from scripts.localdev.orders import LOCAL_CREDENTIALS, REGION, companion_names, local_store
from tests.support.webchat import (  # noqa: F401
    Stack,
    Tab,
    answer,
    browser_fixture,
    open_tab_fixture,
    send,
    sign_in,
    webchat_dist_fixture,
    webchat_stack,
)

pytestmark = pytest.mark.e2e
ORDER = "ORD-3301"  # a keyboard (PROD-005, 129.99) delivered five days ago: returnable
RETURN = f"Please start a return for {ORDER} line 1, refund $129.99"
SHOWN = f"Start a return for order {ORDER}, line 1: refund $129.99 to your original payment method."


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, webchat_dist: Path, moto_server: str) -> Iterator[Stack]:
    with webchat_stack(
        tmp_path_factory.mktemp("webchat-returns"), webchat_dist, orders_url=moto_server
    ) as built:
        store = local_store(moto_server, built.orders["ORDERS_TABLE_NAME"])
        bought = (date.today() - timedelta(days=5)).isoformat()
        for name in ("alice", "bob"):
            order = {"order_id": ORDER, "purchase_date": bought, "status": "delivered"}
            lines = [{"product_id": "PROD-005", "quantity": 1}]
            assert store.put_new({"customer_id": built.users[name].sub, **order, "lines": lines})
        yield built


def stored(stack: Stack, name: str) -> dict[str, list[dict[str, Any]]]:
    """The user's items in the requests and audit tables on moto."""
    resource = boto3.resource(
        "dynamodb", endpoint_url=stack.orders["ORDERS_ENDPOINT_URL"], region_name=REGION, **LOCAL_CREDENTIALS
    )
    found = {}
    for var, table in companion_names(stack.orders["ORDERS_TABLE_NAME"]).items():
        query = Key("customer_id").eq(stack.users[name].sub)
        found[var] = resource.Table(table).query(KeyConditionExpression=query)["Items"]
    return found


def ask_for_the_return(tab: Tab) -> Any:
    send(tab, RETURN)
    request = tab.page.get_by_role("group", name="Please confirm this action")
    expect(request).to_be_visible()
    expect(request).to_contain_text(SHOWN)
    return request


def test_a_customer_confirms_a_return_and_sees_its_id(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    sign_in(tab, stack, "alice")
    request = ask_for_the_return(tab)
    assert stored(stack, "alice") == {"REQUESTS_TABLE_NAME": [], "AUDIT_TABLE_NAME": []}  # asked only

    request.get_by_role("button", name="Confirm").click()
    expect(tab.page.locator("#transcript li.assistant")).to_have_count(2)
    shown = answer(tab, 2)
    tables = stored(stack, "alice")
    [rma] = tables["REQUESTS_TABLE_NAME"]
    [audit] = tables["AUDIT_TABLE_NAME"]
    assert rma["return_id"].startswith("RMA-") and rma["return_id"] in shown, shown
    assert rma["order_id"] == ORDER and audit["result_id"] == rma["return_id"]
    assert audit["session_id"]  # the chat's session, recorded by the Lambda


def test_a_customer_cancels_and_nothing_is_written(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    sign_in(tab, stack, "bob")
    request = ask_for_the_return(tab)
    request.get_by_role("button", name="Cancel").click()
    expect(request).to_contain_text("Cancelled. Nothing was done.")
    expect(tab.page.locator("#transcript li.assistant")).to_have_count(2)
    assert "did not confirm" in answer(tab, 2)
    assert stored(stack, "bob") == {"REQUESTS_TABLE_NAME": [], "AUDIT_TABLE_NAME": []}
