"""The web chat in real headless Chromium (Debian's package, driven by Playwright).

Sign-in, streaming, sessions, token refresh and sign-out; tests/support/webchat.py sets up the
real stack behind the page.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.webchat import (  # noqa: F401
    ARTIFACTS,
    Stack,
    Tab,
    answer,
    assert_no_token_kept,
    browser_fixture,
    open_tab_fixture,
    send,
    sign_in,
    webchat_dist_fixture,
    webchat_stack,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, webchat_dist: Path) -> Iterator[Stack]:
    with webchat_stack(tmp_path_factory.mktemp("webchat"), webchat_dist) as built:
        yield built


def pieces(tab: Tab, index: int) -> list[dict[str, Any]]:
    return [p for p in tab.page.evaluate("window.__pieces") if p["index"] == index]


def assert_streamed(tab: Tab, index: int, final: str) -> tuple[int, int]:
    """The answer was shown partly while still streaming, then whole; returns (first, last) times."""
    seen = pieces(tab, index)
    partial = [p for p in seen if p["busy"] == "true" and 0 < len(p["text"]) < len(final)]
    assert partial, f"answer {index} appeared all at once: {[len(p['text']) for p in seen]}"
    done = [p for p in seen if p["busy"] is None and p["text"].strip() == final.strip()]
    assert done and partial[0]["at"] < done[0]["at"]
    return partial[0]["at"], done[0]["at"]


# -- the tests ----------------------------------------------------------------------------------
def test_two_customers_chat_in_parallel_and_never_see_each_other(open_tab: Any, stack: Stack) -> None:
    alice, bob = open_tab(), open_tab()
    sign_in(alice, stack, "alice")
    sign_in(bob, stack, "bob")

    send(alice, "What is the return policy for accessories?")
    send(bob, "Tell me about the USB-C Hub")  # while Alice's answer streams
    first_alice, first_bob = answer(alice, 1), answer(bob, 1)
    a_start, a_end = assert_streamed(alice, 1, first_alice)
    b_start, b_end = assert_streamed(bob, 1, first_bob)
    assert a_start < b_end and b_start < a_end, "the two answers did not stream at the same time"
    assert "14 days" in first_alice and "USB-C Hub" in first_bob

    send(alice, "My name is Alice")
    send(bob, "Do you remember my name?")
    answer(alice, 2)
    assert "don't know your name" in answer(bob, 2)
    send(alice, "Do you remember my name?")
    assert "your name is Alice" in answer(alice, 3)
    send(bob, "Do you remember my name?")
    assert "don't know your name" in answer(bob, 3)
    send(alice, "Check the warranty for PROD-002")
    warranty = answer(alice, 4)
    assert "Smart Watch" in warranty and "24" in warranty  # through the JWT-secured gateway

    bob_page = bob.page.locator("body").inner_text()
    assert "Alice" not in bob_page and "Smart Watch" not in bob_page
    assert "Signed in as bob" in bob_page
    sessions = {r.headers["x-amzn-bedrock-agentcore-runtime-session-id"] for r in alice.invocations}
    assert len(sessions) == 1 and len(next(iter(sessions))) >= 33  # one conversation, AgentCore-sized id
    assert not sessions & {r.headers["x-amzn-bedrock-agentcore-runtime-session-id"] for r in bob.invocations}
    for tab in (alice, bob):
        assert_no_token_kept(tab)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    alice.page.screenshot(path=str(ARTIFACTS / "webchat-conversation.png"), full_page=True)


def test_new_conversation_starts_a_fresh_session(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    sign_in(tab, stack, "carol")
    send(tab, "My name is Carol")
    answer(tab, 1)
    tab.page.get_by_role("button", name="New conversation").click()
    expect(tab.page.locator("#transcript li")).to_have_count(0)
    send(tab, "Do you remember my name?")
    answer(tab, 1)
    first, second = (r.headers["x-amzn-bedrock-agentcore-runtime-session-id"] for r in tab.invocations)
    assert first != second


def test_access_token_is_refreshed_mid_conversation(open_tab: Any, stack: Stack) -> None:
    stack.client.access_token_validity = 5  # the app refreshes 3 s before expiry
    try:
        tab = open_tab()
        revoked = stack.issuer.hosted_ui.counts["family_revoked"]
        sign_in(tab, stack, "alice")
        refreshes = stack.issuer.hosted_ui.counts["refresh"]
        send(tab, "My name is Rosalind")
        answer(tab, 1)
        time.sleep(6)  # past the first access token's expiry; the agent allows no leeway
        send(tab, "Do you remember my name?")
        assert "your name is Rosalind" in answer(tab, 2)
        time.sleep(6)  # and again: the second refresh must present the rotated refresh token
        send(tab, "Do you remember my name?")
        assert "your name is Rosalind" in answer(tab, 3)
    finally:
        stack.client.access_token_validity = 300
    assert stack.issuer.hosted_ui.counts["refresh"] >= refreshes + 2
    # Reusing the retired token would have revoked the whole family (and signed the tab out).
    assert stack.issuer.hosted_ui.counts["family_revoked"] == revoked
    first, second, third = (r.headers["authorization"] for r in tab.invocations)
    assert len({first, second, third}) == 3  # a new access token each time...
    sessions = {r.headers["x-amzn-bedrock-agentcore-runtime-session-id"] for r in tab.invocations}
    assert len(sessions) == 1  # ...in the same conversation
    assert_no_token_kept(tab)


def test_sign_out_revokes_and_sending_asks_to_sign_in(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    sign_in(tab, stack, "bob")
    held = stack.issuer.hosted_ui.active_refresh_tokens("bob")  # this tab's, and earlier tests'
    assert held >= 1
    revoked, logouts = stack.issuer.hosted_ui.counts["revoke"], stack.issuer.hosted_ui.counts["logout"]
    tab.page.get_by_role("button", name="Sign out").click()
    expect(tab.page.get_by_text("Not signed in")).to_be_visible()
    assert stack.issuer.hosted_ui.counts["revoke"] == revoked + 1
    assert stack.issuer.hosted_ui.counts["logout"] == logouts + 1
    assert stack.issuer.hosted_ui.active_refresh_tokens("bob") == held - 1  # this tab's is revoked

    sent = len(tab.invocations)
    send(tab, "Where is my order?")
    expect(tab.page.get_by_role("alert")).to_contain_text("Please sign in")
    expect(tab.page.get_by_label("Message")).to_have_value("Where is my order?")
    assert len(tab.invocations) == sent  # nothing was sent without a token
    tab.page.get_by_role("alert").get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_label("Password")).to_be_visible()  # the hosted-UI session ended too
    tab.page.get_by_label("Username").fill("bob")
    tab.page.get_by_label("Password").fill(stack.users["bob"].password)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_text("Signed in as bob")).to_be_visible()
    expect(tab.page.get_by_label("Message")).to_have_value("Where is my order?")  # the draft survived


def test_a_tampered_token_is_refused_and_the_page_says_so(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    sign_in(tab, stack, "carol")

    def tamper(route: Any) -> None:
        headers = dict(route.request.headers)
        head, payload, signature = headers["authorization"][7:].split(".")
        flipped = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))
        headers["authorization"] = f"Bearer {head}.{payload}.{flipped}"
        route.continue_(headers=headers)

    tab.page.route("**/invocations", tamper)
    with tab.page.expect_response("**/invocations") as refused:
        send(tab, "Check the warranty for PROD-001")
    assert refused.value.status == 403
    expect(tab.page.get_by_role("alert")).to_contain_text("sign in again")
    expect(tab.page.get_by_label("Message")).to_have_value("Check the warranty for PROD-001")
    expect(tab.page.locator("#transcript li")).to_have_count(0)
    tab.page.unroute("**/invocations")
    tab.page.get_by_role("button", name="Send").click()  # the same token, untampered, works
    assert "warranty" in answer(tab, 1).lower()
    assert_no_token_kept(tab)


def test_busy_and_unreachable_service_are_explained(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    sign_in(tab, stack, "alice")
    tab.page.route(
        "**/invocations",
        lambda route: route.fulfill(
            status=429, json={"error": "Too many requests"}, headers={"Retry-After": "2"}
        ),
    )
    send(tab, "Hello?")
    expect(tab.page.get_by_role("alert")).to_contain_text("wait a moment")
    expect(tab.page.get_by_label("Message")).to_have_value("Hello?")
    tab.page.unroute("**/invocations")
    tab.page.route("**/invocations", lambda route: route.abort("connectionrefused"))
    tab.page.get_by_role("button", name="Send").click()
    expect(tab.page.get_by_role("alert")).to_contain_text("couldn't reach")
    expect(tab.page.get_by_label("Message")).to_have_value("Hello?")


def test_a_customer_signs_up_with_a_work_address_then_chats(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    page = tab.page
    page.goto(stack.url)
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Create an account").click()
    password = "Pw-" + secrets.token_urlsafe(12)
    # Another domain: the PreSignUp trigger's code refuses it, in Cognito's words.
    page.get_by_label("Email").fill("dana@elsewhere.test")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text("PreSignUp failed with error Sign-up is limited")
    page.get_by_label("Email").fill("dana@example.com")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    page.get_by_label("Username").fill("dana@example.com")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as dana@example.com")).to_be_visible()
    send(tab, "What's the return policy for accessories?")
    assert answer(tab, 1).strip()
    assert_no_token_kept(tab)
