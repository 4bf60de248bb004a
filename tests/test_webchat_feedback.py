"""Rating an answer in the web chat, in real headless Chromium against the real local stack.

The agent stores ratings in the ratings table on a moto server over HTTP; the test reads the vote
back from there (tests/support/webchat.py sets up the rest of the stack behind the page).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from playwright.sync_api import expect

from tests.support.webchat import (  # noqa: F401
    Stack,
    answer,
    browser_fixture,
    open_tab_fixture,
    send,
    sign_in,
    webchat_dist_fixture,
    webchat_stack,
)

pytestmark = pytest.mark.e2e
AXE = Path(__file__).resolve().parents[1] / "app" / "WebChat" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def table(moto_server: str) -> dict[str, str]:
    from scripts.localdev.orders import FEEDBACK_RESOURCE, create_table

    name = f"feedback-{uuid.uuid4().hex[:8]}"
    create_table(moto_server, name, FEEDBACK_RESOURCE)
    return {"FEEDBACK_TABLE_NAME": name, "FEEDBACK_ENDPOINT_URL": moto_server}


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, webchat_dist: Path, table: dict[str, str]
) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("webchat-feedback")
    with webchat_stack(work, webchat_dist, None, **table) as built:  # no limited front
        yield built


def votes(table: dict[str, str], sub: str) -> dict[str, str]:
    """Every rating stored under `sub`: trace id -> rating."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=table["FEEDBACK_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    items = client.query(
        TableName=table["FEEDBACK_TABLE_NAME"],
        KeyConditionExpression="customer_id = :sub",
        ExpressionAttributeValues={":sub": {"S": sub}},
        ConsistentRead=True,
    )["Items"]
    return {i["trace_id"]["S"]: i["rating"]["S"] for i in items if "rating" in i}


def test_a_thumbs_click_stores_the_vote_and_shows_the_button_pressed(
    open_tab: Any, stack: Stack, table: dict[str, str]
) -> None:
    tab = open_tab()
    sign_in(tab, stack, "alice")
    send(tab, "What is the return policy for accessories?")
    assert "14 days" in answer(tab, 1)
    item = tab.page.locator("#transcript li.assistant").nth(0)
    group = item.get_by_role("group", name="Was this answer helpful?")
    up = group.get_by_role("button", name="Helpful", exact=True)
    down = group.get_by_role("button", name="Not helpful", exact=True)
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(down).to_have_attribute("aria-pressed", "false")

    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(group.get_by_role("status")).to_have_text("Thank you for your feedback.")
    sub = stack.users["alice"].sub
    assert list(votes(table, sub).values()) == ["down"]

    up.click()  # changing one's mind replaces the vote
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(down).to_have_attribute("aria-pressed", "false")
    stored = votes(table, sub)
    assert list(stored.values()) == ["up"] and all(len(t) == 32 for t in stored)
    assert votes(table, stack.users["bob"].sub) == {}
    bodies = [r.post_data_json for r in tab.invocations]
    assert {"feedback": {"traceId": next(iter(stored)), "rating": "up"}} in bodies

    # axe-core on the page with the rating controls shown: no serious or critical violation.
    tab.page.evaluate(AXE.read_text())  # through the DevTools protocol, so the CSP allows it
    result = tab.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert len(result["passes"]) > 10
    serious = [(v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
