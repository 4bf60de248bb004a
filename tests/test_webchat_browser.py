"""The web chat in real headless Chromium (Debian's package, driven by Playwright).

The whole path is real: the built app (oidc-client-ts, code + PKCE) served by the local web
front, the local issuer's hosted UI, the agent process verifying every token (no clock leeway),
the JWT-secured gateway, and the offline model pacing its text so the stream arrives in pieces.
"""

from __future__ import annotations

import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect, sync_playwright

from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.pool import Client, IssuerConfig, User
from scripts.localdev.serving import BackgroundServer
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, chromium_or_skip
from tests.support.processes import REPO, free_port
from tests.support.stack import start_agent

ARTIFACTS = REPO / ".local" / "artifacts"
WEB_CLIENT = "cs-browser-client"

# Records each change of the newest answer: its text, whether it is still streaming, and when.
RECORD_PIECES = """
window.__pieces = [];
new MutationObserver(() => {
  const items = document.querySelectorAll('#transcript li.assistant');
  const last = items[items.length - 1];
  if (!last) return;
  const text = last.textContent;
  const prev = window.__pieces[window.__pieces.length - 1];
  if (prev && prev.index === items.length && prev.text === text && prev.busy === last.ariaBusy) return;
  window.__pieces.push({index: items.length, text, busy: last.ariaBusy, at: Date.now()});
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


@dataclass
class Stack:
    """The servers of one test module and the people who may sign in."""

    issuer: LocalIssuer
    client: Client
    url: str
    users: dict[str, User]


@dataclass
class Tab:
    """One person's browser context and page, and what the test saw go by."""

    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    invocations: list[Request] = field(default_factory=list)


@pytest.fixture(scope="module")
def webchat_dist() -> Path:
    """The app built by the project's own script (installs its npm packages when needed)."""
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-webchat.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, webchat_dist: Path) -> Iterator[Stack]:
    from scripts.localdev.gateway import build_gateway
    from scripts.localdev.webfront import build_webfront

    work = tmp_path_factory.mktemp("webchat")
    front_port = free_port()
    front = f"http://127.0.0.1:{front_port}"
    client = Client(
        client_id=WEB_CLIENT,
        allowed_scopes=["openid", "profile"],
        callback_urls=[f"{front}/"],
        logout_urls=[f"{front}/"],
        access_token_validity=300,
    )
    users = {
        name: User(name, secrets.token_urlsafe(12), str(uuid.uuid4())) for name in ("alice", "bob", "carol")
    }
    issuer = LocalIssuer(
        IssuerConfig(
            pool_id="us-east-1_WEBCHAT",
            clients=[client],
            users=list(users.values()),
            self_sign_up=True,  # the sign-up test; the other users sign in as before
            organization_domain="example.com",
        )
    )
    auth = {"AUTH_MODE": "enforce", "AUTH_ALLOWED_CLIENTS": WEB_CLIENT}
    with BackgroundServer(issuer.app()) as issuer_server:
        issuer.base_url = issuer_server.url
        auth["AUTH_DISCOVERY_URL"] = issuer.discovery_url
        gateway = build_gateway(auth)
        with BackgroundServer(gateway.app) as gateway_server:
            gateway.url = f"{gateway_server.url}/mcp"
            agent = start_agent(
                issuer,
                gateway,
                work,
                None,
                **auth,
                AUTH_LEEWAY_SECONDS="0",  # an expired token is refused at once
                OFFLINE_MODEL_CHUNK_DELAY_SECONDS="0.2",
            )
            app_config = {
                "issuer": issuer.issuer,
                "clientId": WEB_CLIENT,
                "domain": issuer.base_url,
                "endpoint": "/invocations",
                "scope": "openid profile",
                "refreshSecondsBeforeExpiry": 3,
            }
            try:
                front_app = build_webfront(agent.url, app_config, webchat_dist, app_origin=front)
                with BackgroundServer(front_app, front_port):
                    yield Stack(issuer, client, f"{front}/", users)
            finally:
                agent.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium_or_skip()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def open_tab(browser: Browser, stack: Stack) -> Iterator[Any]:
    tabs: list[Tab] = []

    def open_() -> Tab:
        expect.set_options(timeout=WAIT_MS)
        context = browser.new_context()
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        tab = Tab(context, page)
        page.add_init_script(RECORD_PIECES)
        page.on("console", lambda message: tab.console.append(message.text))
        page.on("pageerror", lambda error: tab.console.append(str(error)))
        page.on("request", lambda request: _watch_request(tab, request))
        page.on("response", lambda response: _watch_token_response(tab, response))
        tabs.append(tab)
        return tab

    yield open_
    for tab in tabs:
        tab.context.close()


def _watch_request(tab: Tab, request: Request) -> None:
    if request.url.endswith("/invocations") and request.method == "POST":
        tab.invocations.append(request)
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            tab.tokens.add(auth[7:])


def _watch_token_response(tab: Tab, response: Any) -> None:
    if response.url.endswith("/oauth2/token") and response.status == 200:
        body = response.json()
        tab.tokens.update(body[k] for k in ("access_token", "id_token", "refresh_token") if k in body)


def sign_in(tab: Tab, stack: Stack, name: str) -> None:
    page = tab.page
    page.goto(stack.url)
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(stack.users[name].password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()
    assert page.url == stack.url  # the code and state are gone from the address bar


def send(tab: Tab, text: str) -> None:
    tab.page.get_by_label("Message").fill(text)
    tab.page.get_by_role("button", name="Send").click()


def answer(tab: Tab, index: int) -> str:
    """The index-th answer (1-based) once it has finished streaming."""
    item = tab.page.locator("#transcript li.assistant").nth(index - 1)
    expect(item).not_to_have_attribute("aria-busy", "true")
    expect(item).not_to_have_text("")
    return item.inner_text()


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


def assert_no_token_kept(tab: Tab) -> None:
    """No token in web storage, cookies, the URL or the console."""
    assert tab.tokens, "the test saw no token go by"
    page = tab.page
    stored = page.evaluate(
        "JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])"
    )
    cookies = " ".join(f"{c['name']}={c['value']}" for c in tab.context.cookies())
    places = {"storage": stored, "cookies": cookies, "url": page.url, "console": "\n".join(tab.console)}
    for place, text in places.items():
        for token in tab.tokens:
            parts = token.split(".")[1:] if token.count(".") == 2 else [token]
            assert not any(part in text for part in parts), f"a token is in the page's {place}"
    assert "webchat.signin" not in stored  # the transient sign-in request is gone after sign-in


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
