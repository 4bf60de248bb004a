"""The web chat's browser-test harness: the local stack behind it, tabs, and what a customer does.

The whole path is real: the built app (oidc-client-ts, code + PKCE) served by the local web
front, the local issuer's hosted UI, the agent process verifying every token (no clock leeway),
the JWT-secured gateway, and the offline model pacing its text so the stream arrives in pieces.
Test modules import the fixtures (``webchat_dist``, ``browser`` and ``open_tab``, defined here under
``*_fixture`` names so the test arguments do not shadow an import) and build their own
module-scoped ``stack`` with ``webchat_stack``.
"""

from __future__ import annotations

import contextlib
import datetime
import secrets
import subprocess
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
API_SCOPE = "customersupport/invoke"  # the front door's scope (scripts/deploy/frontdoor.yaml)
NAMES = ("alice", "bob", "carol", "dave")

# Records each change of the newest answer: its text, whether it is still streaming, and when.
RECORD_PIECES = """
window.__pieces = [];
new MutationObserver(() => {
  const items = document.querySelectorAll('#transcript li.assistant');
  const last = items[items.length - 1];
  if (!last) return;
  const text = last.querySelector('.body').innerText;
  const prev = window.__pieces[window.__pieces.length - 1];
  if (prev && prev.index === items.length && prev.text === text && prev.busy === last.ariaBusy) return;
  window.__pieces.push({index: items.length, text, busy: last.ariaBusy, at: Date.now()});
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


@dataclass
class Stack:
    """The servers of one test module and the people who may sign in.

    ``limited_url``: a second web front with the front door's policy on (authorizer, per-user
    throttle and daily quota), when the module asked for one.
    """

    issuer: LocalIssuer
    client: Client
    url: str
    users: dict[str, User]
    limited_url: str = ""
    orders: dict[str, str] = field(default_factory=dict)  # ORDERS_TABLE_NAME/_ENDPOINT_URL, if any


@dataclass
class Tab:
    """One person's browser context and page, and what the test saw go by."""

    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    invocations: list[Request] = field(default_factory=list)


@pytest.fixture(scope="module", name="webchat_dist")
def webchat_dist_fixture() -> Path:
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


@contextlib.contextmanager
def webchat_stack(
    work: Path, dist: Path, limits: dict[str, str] | None = None, orders_url: str = "", **agent_env: str
) -> Iterator[Stack]:
    """Issuer, gateway, agent (`agent_env` on top) and web front; with `limits`, a limited front too.

    With `orders_url` (a moto server), the gateway's AccountTools reads a new orders table there
    holding each user's demo orders under that user's sub.
    """
    from scripts.localdev.frontdoor import Limits
    from scripts.localdev.gateway import build_gateway
    from scripts.localdev.webfront import build_webfront
    from settings import AuthSettings

    ports = {"open": free_port(), "limited": free_port()}
    fronts = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    client = Client(
        client_id=WEB_CLIENT,
        allowed_scopes=["openid", "profile", API_SCOPE],
        callback_urls=[f"{url}/" for url in fronts.values()],
        logout_urls=[f"{url}/" for url in fronts.values()],
        access_token_validity=300,
    )
    users = {name: User(name, secrets.token_urlsafe(12), str(uuid.uuid4())) for name in NAMES}
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
        orders = seeded_orders(orders_url, users) if orders_url else {}
        gateway = build_gateway({**auth, **orders})
        with BackgroundServer(gateway.app) as gateway_server, contextlib.ExitStack() as servers:
            gateway.url = f"{gateway_server.url}/mcp"
            agent = start_agent(
                issuer,
                gateway,
                work,
                None,
                **auth,
                AUTH_LEEWAY_SECONDS="0",  # an expired token is refused at once
                OFFLINE_MODEL_CHUNK_DELAY_SECONDS="0.2",
                **agent_env,
            )
            servers.callback(agent.stop)
            config = {
                "issuer": issuer.issuer,
                "clientId": WEB_CLIENT,
                "domain": issuer.base_url,
                "endpoint": "/invocations",
                "scope": "openid profile",
                "refreshSecondsBeforeExpiry": 3,
            }
            front = build_webfront(agent.url, config, dist, app_origin=fronts["open"])
            servers.enter_context(BackgroundServer(front, ports["open"]))
            stack = Stack(issuer, client, f"{fronts['open']}/", users, orders=orders)
            if limits is not None:
                # scripts/localdev/webchat.sh's front: the front door's policy under the template's names.
                policy = AuthSettings(
                    discovery_url=issuer.discovery_url,
                    allowed_clients=(WEB_CLIENT,),
                    allowed_scopes=(API_SCOPE,),
                )
                limited = build_webfront(
                    agent.url,
                    {**config, "scope": f"openid profile {API_SCOPE}"},
                    dist,
                    app_origin=fronts["limited"],
                    auth=policy,
                    limits=Limits.from_parameters(limits),
                )
                servers.enter_context(BackgroundServer(limited, ports["limited"]))
                stack.limited_url = f"{fronts['limited']}/"
            yield stack


def seeded_orders(endpoint: str, users: dict[str, User]) -> dict[str, str]:
    """A new orders table on moto at `endpoint`, each user's demo orders under their sub."""
    from scripts.localdev.orders import create_table, local_store, seed_users

    name = f"webchat-orders-{uuid.uuid4().hex[:8]}"
    create_table(endpoint, name)
    seed_users(local_store(endpoint, name), {n: u.sub for n, u in users.items()}, datetime.date.today())
    return {"ORDERS_TABLE_NAME": name, "ORDERS_ENDPOINT_URL": endpoint}


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Browser]:
    chromium_or_skip()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(name="open_tab")
def open_tab_fixture(browser: Browser) -> Iterator[Any]:
    """A function that opens a Tab in a new browser context (keyword arguments: context options)."""
    tabs: list[Tab] = []

    def open_(**context_options: Any) -> Tab:
        expect.set_options(timeout=WAIT_MS)
        context = browser.new_context(**context_options)
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


def sign_in(tab: Tab, stack: Stack, name: str, url: str = "") -> None:
    """`name` signs in at `url` (default: the stack's open front) through the hosted UI."""
    page = tab.page
    page.goto(url or stack.url)
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(stack.users[name].password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()
    assert page.url == (url or stack.url)  # the code and state are gone from the address bar


def send(tab: Tab, text: str) -> None:
    tab.page.get_by_label("Message").fill(text)
    tab.page.get_by_role("button", name="Send").click()


def answer(tab: Tab, index: int) -> str:
    """The index-th answer's text (1-based) once it has finished streaming."""
    item = tab.page.locator("#transcript li.assistant").nth(index - 1)
    expect(item).not_to_have_attribute("aria-busy", "true")
    body = item.locator(".body")
    expect(body).not_to_have_text("")
    return body.inner_text()


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
