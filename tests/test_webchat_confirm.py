"""A customer confirms or cancels a write in the web chat (real Chromium, the local stack).

The agent's gateway is the recording MCP server of tests/support/account_mcp.py (it has the write
tools of issue 18's contract), so the assertions are on what reached the tools: a confirmed return
is written once for the signed-in customer and its id is shown; a cancelled one writes nothing.
axe-core judges the page while a confirmation waits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from scripts.localdev.serving import BackgroundServer
from tests.support.account_mcp import AccountMcp
from tests.support.processes import REPO
from tests.support.webchat import (  # noqa: F401
    Stack,
    Tab,
    browser_fixture,
    open_tab_fixture,
    send,
    sign_in,
    webchat_dist_fixture,
    webchat_stack,
)

pytestmark = pytest.mark.e2e
AXE = REPO / "app" / "WebChat" / "node_modules" / "axe-core" / "axe.min.js"
RETURN = "Start a return for ORD-A-1 line 1, refund $20"
SHOWN = "Start a return for order ORD-A-1, line 1: refund $20.00 to your original payment method."


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, webchat_dist: Path) -> Iterator[tuple[Stack, AccountMcp]]:
    account = AccountMcp()
    with BackgroundServer(account.app) as server:
        work = tmp_path_factory.mktemp("webchat-confirm")
        url = f"{server.url}/mcp"
        with webchat_stack(work, webchat_dist, AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=url) as built:
            yield built, account


def ask_for_a_return(tab: Tab) -> Any:
    send(tab, RETURN)
    request = tab.page.get_by_role("group", name="Please confirm this action")
    expect(request).to_be_visible()
    expect(request).to_be_focused()  # moved to the request, not to a button
    expect(request).to_contain_text(SHOWN)
    return request


def test_a_customer_confirms_a_return_and_sees_its_id(open_tab: Any, world: tuple[Stack, AccountMcp]) -> None:
    stack, account = world
    tab = open_tab()
    sign_in(tab, stack, "alice")
    before = len(account.writes())
    request = ask_for_a_return(tab)
    assert len(account.writes()) == before  # asked, nothing written yet

    assert AXE.is_file(), f"{AXE} is missing: scripts/build-webchat.sh installs axe-core"
    tab.page.evaluate(AXE.read_text())
    result = tab.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert len(result["passes"]) > 10
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious

    request.get_by_role("button", name="Confirm").click()
    answers = tab.page.locator("#transcript li.assistant")
    expect(answers).to_have_count(2)
    expect(answers.nth(1)).to_contain_text("RA-")
    writes = account.writes()[before:]
    assert len(writes) == 1 and writes[0].arguments["customer_id"] == stack.users["alice"].sub
    return_id = f"RA-{len(account.writes()):04d}"
    expect(answers.nth(1)).to_contain_text(return_id)
    expect(request.get_by_role("button", name="Confirm")).to_be_disabled()  # a choice is sent once


def test_a_customer_cancels_and_nothing_is_written(open_tab: Any, world: tuple[Stack, AccountMcp]) -> None:
    stack, account = world
    tab = open_tab()
    sign_in(tab, stack, "bob")
    before = len(account.writes())
    request = ask_for_a_return(tab)
    request.get_by_role("button", name="Cancel").click()
    answers = tab.page.locator("#transcript li.assistant")
    expect(answers).to_have_count(2)
    expect(answers.nth(1)).to_contain_text("did not confirm")
    expect(request).to_contain_text("Cancelled. Nothing was done.")
    assert len(account.writes()) == before
    assert [r for r in tab.invocations if b'"confirm"' in (r.post_data_buffer or b"")], (
        "no structured choice sent"
    )
