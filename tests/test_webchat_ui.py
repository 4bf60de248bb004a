"""The web chat grown up, in real headless Chromium against the local stack (tests/support/webchat.py).

Markdown answers rendered safely (a hostile answer arrives through the real agent, from a web page
the local web-search server returns), authors named for assistive technology, the throttle and the
daily quota of the local front door told apart, the transcript gone on sign-out and page hide, no
console error, and axe-core's verdict on the signed-in page.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import mcp_types as types
import pytest
from playwright.sync_api import ConsoleMessage, Response, expect

from scripts.localdev.serving import BackgroundServer
from scripts.localdev.websearch import LocalWebSearch
from tests.support.processes import REPO
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
AXE = REPO / "app" / "WebChat" / "node_modules" / "axe-core" / "axe.min.js"
PWNED = "window.__pwned=1"
# A web page a prompt injection could have planted: markdown a customer should see, and markup
# and links that must stay inert (every way of running PWNED that a page might try).
HOSTILE_PAGE = f"""**Reset steps** for your headset:
- Hold the power button
- Pair it again

[Official guide](https://example.com/guide) [click me](javascript:{PWNED})
[data](data:text/html,<script>{PWNED}</script>)
<img src=x onerror="{PWNED}">
<script>{PWNED}</script>
<a href="javascript:{PWNED}" onclick="{PWNED}">raw link</a> <b onmouseover="{PWNED}">hover me</b>
<iframe src="javascript:{PWNED}"></iframe>

![tracking pixel](https://tracker.example/pixel.png)"""
HOSTILE_PROMPT = "Search the web for how to reset my headset"
# Throttle: one request per 10 s (longer than an answer takes); quota: two a day (the parameter
# names of scripts/deploy/frontdoor.yaml).
THROTTLE_WINDOW = 10
LIMITS = {"ThrottleRateLimit": str(1 / THROTTLE_WINDOW), "ThrottleBurstLimit": "1", "QuotaLimitPerDay": "2"}
ZONE = "Asia/Kolkata"  # the customer's zone: UTC+5:30, so a UTC time shown as is would be wrong


class HostileWebSearch(LocalWebSearch):
    """The local web-search server, answering every query with HOSTILE_PAGE."""

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return types.CallToolResult(content=[types.TextContent(type="text", text=HOSTILE_PAGE)])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, webchat_dist: Path) -> Iterator[Stack]:
    search = HostileWebSearch()
    with BackgroundServer(search.app) as search_server:
        work = tmp_path_factory.mktemp("webchat-ui")
        env = {"WEB_SEARCH_MCP_URL": f"{search_server.url}/mcp"}
        with webchat_stack(work, webchat_dist, limits=LIMITS, **env) as built:
            yield built


def conversation(tab: Tab) -> Any:
    return tab.page.get_by_role("log", name="Conversation")


# -- markdown, safely -----------------------------------------------------------------------------
def test_a_hostile_answer_renders_its_markdown_and_nothing_else(open_tab: Any, stack: Stack) -> None:
    # The page's CSP would stop inline script anyway: bypass it, so only the sanitiser stands.
    tab = open_tab(bypass_csp=True)
    outside: list[str] = []
    tab.page.on("request", lambda r: outside.append(r.url) if "tracker.example" in r.url else None)
    sign_in(tab, stack, "alice")
    send(tab, HOSTILE_PROMPT)
    text = answer(tab, 1)
    body = conversation(tab).locator("li.assistant .body")

    # The markdown a customer should see.
    expect(body.locator("strong")).to_have_text("Reset steps")
    expect(body.locator("ul > li")).to_have_text(["Hold the power button", "Pair it again"])
    assert text.count("Hold the power button") == 1  # re-rendered whole while streaming, never twice
    guide = body.get_by_role("link", name="Official guide")
    expect(guide).to_have_attribute("href", "https://example.com/guide")
    expect(guide).to_have_attribute("target", "_blank")
    expect(guide).to_have_attribute("rel", "noopener noreferrer")
    # Raw HTML is shown as text, not parsed; the image is a link, never loaded.
    assert f"<script>{PWNED}</script>" in text and "<img src=x onerror=" in text
    expect(body.get_by_role("link", name="tracking pixel")).to_have_attribute(
        "href", "https://tracker.example/pixel.png"
    )

    # Nothing dangerous is in the DOM, and nothing ran, even when clicked or hovered.
    found = body.evaluate(
        """(root) => ({
          elements: [...root.querySelectorAll('script, img, iframe, object, embed, style, svg, form')]
            .map((e) => e.tagName),
          handlers: [...root.querySelectorAll('*')].flatMap((e) => e.getAttributeNames())
            .filter((name) => name.startsWith('on') || name === 'style' || name === 'src'),
          hrefs: [...root.querySelectorAll('[href]')].map((e) => e.getAttribute('href')),
        })"""
    )
    assert found["elements"] == [] and found["handlers"] == [], found
    assert found["hrefs"] == ["https://example.com/guide", "https://tracker.example/pixel.png"], found
    for name in ("click me", "data"):
        link = body.locator("a", has_text=name)
        expect(link).not_to_have_attribute("href", "")  # no href at all: an inert anchor
        link.click()
    body.get_by_text("hover me").hover()
    tab.page.wait_for_timeout(300)  # a handler would have run by now
    assert tab.page.evaluate("window.__pwned") is None
    assert outside == []
    assert len(tab.context.pages) == 1  # no link opened anything


def test_each_message_names_its_author_in_a_log(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    sign_in(tab, stack, "bob")
    send(tab, "What is the return policy for accessories?")
    answer(tab, 1)
    send(tab, "My name is Bob")
    answer(tab, 2)
    log = conversation(tab)  # found by role and name: the accessibility tree has it
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).not_to_have_attribute("aria-busy", "true")  # busy only while an answer streams
    # Each message's first words, as a screen reader reads them, are its author's.
    expect(log).to_match_aria_snapshot(
        """
        - log "Conversation":
          - list:
            - listitem: "You: What is the return policy for accessories?"
            - listitem:
              - text: "Support agent:"
              - paragraph: /14 days/
            - listitem: "You: My name is Bob"
            - listitem:
              - text: "Support agent:"
              - paragraph: /Nice to meet you, Bob/
        """
    )


# -- throttle and daily quota, through the local front door ---------------------------------------
def refused(tab: Tab, text: str) -> dict[str, Any]:
    """Sends `text`, which the front door refuses with 429; its JSON body."""
    messages = tab.page.locator("#transcript li")
    shown = messages.count()
    with tab.page.expect_response("**/invocations") as response_info:
        send(tab, text)
    response: Response = response_info.value
    assert response.status == 429
    expect(tab.page.get_by_label("Message")).to_have_value(text)  # kept for later
    expect(messages).to_have_count(shown)  # the refused line is not left in the transcript
    body: dict[str, Any] = response.json()
    return body


def test_the_throttle_asks_for_a_moment_and_the_quota_says_when(open_tab: Any, stack: Stack) -> None:
    tab = open_tab(timezone_id=ZONE, locale="en-GB")
    sign_in(tab, stack, "dave", stack.limited_url)
    send(tab, "Hello")
    answer(tab, 1)  # quota: 1 of 2

    throttled = refused(tab, "Hello again")
    assert throttled["message"] == "Too Many Requests" and throttled["retryAfterSeconds"] <= THROTTLE_WINDOW
    expect(tab.page.get_by_role("alert")).to_contain_text("Please wait a moment, then press Send again.")
    time.sleep(throttled["retryAfterSeconds"] + 0.5)
    tab.page.get_by_role("button", name="Send").click()
    answer(tab, 2)  # quota: 2 of 2

    time.sleep(THROTTLE_WINDOW + 0.5)  # past the throttle, so only the quota can refuse
    quota = refused(tab, "One more thing")
    sent_at = dt.datetime.now(dt.timezone.utc)
    assert quota["message"] == "Limit Exceeded" and quota["retryAfterSeconds"] > 60
    # The local front door's day is the UTC day: it ends at 00:00 UTC, 05:30 in the customer's zone.
    local = ZoneInfo(ZONE)
    until = (sent_at + dt.timedelta(seconds=quota["retryAfterSeconds"])).astimezone(local)
    assert until.strftime("%H:%M") == "05:30"
    day = "at" if until.date() == sent_at.astimezone(local).date() else "tomorrow at"
    expect(tab.page.get_by_role("alert")).to_have_text(
        f"You've reached today's message limit. You can write again {day} 05:30."
    )


# -- leaving --------------------------------------------------------------------------------------
PROBE_ON_PAGEHIDE = """() => window.addEventListener('pagehide', () => localStorage.setItem('probe',
  JSON.stringify({messages: document.querySelectorAll('#transcript li').length,
                  text: document.body.innerText})))"""


def test_leaving_the_page_or_signing_out_clears_the_transcript(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    page = tab.page
    served = page.goto(stack.url)
    assert served is not None and served.headers["cache-control"] == "no-store"
    sign_in(tab, stack, "carol")
    send(tab, "My name is Rumpelstiltskin")
    answer(tab, 1)
    # Registered after the app's own pagehide listener, so it sees what the app left behind.
    page.evaluate(PROBE_ON_PAGEHIDE)
    page.goto("about:blank")
    page.goto(stack.url)
    probe = page.evaluate("JSON.parse(localStorage.getItem('probe'))")
    page.evaluate("localStorage.clear()")
    assert probe["messages"] == 0 and "Rumpelstiltskin" not in probe["text"], probe

    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_role("button", name="Sign in").click()  # the hosted-UI session: one click
    expect(page.get_by_text("Signed in as carol")).to_be_visible()
    send(tab, "My name is Rumpelstiltskin")
    answer(tab, 1)
    # A 204 answer to the hosted-UI logout keeps the browser on the page, to look at it.
    page.route("**/logout*", lambda route: route.fulfill(status=204))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Not signed in")).to_be_visible()
    expect(page.locator("#transcript li")).to_have_count(0)
    assert "Rumpelstiltskin" not in page.locator("body").inner_text()


# -- a clean page ---------------------------------------------------------------------------------
def test_no_console_error_a_favicon_and_no_serious_axe_violation(open_tab: Any, stack: Stack) -> None:
    tab = open_tab()
    page = tab.page
    ours = stack.url.rstrip("/")
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        # The web chat's own page only: the local hosted UI (another origin) has no favicon.
        if message.type == "error" and page.url.startswith(ours):
            problems.append(f"console: {message.text} at {message.location.get('url')}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
    sign_in(tab, stack, "alice")
    send(tab, "Tell me about the USB-C Hub")
    assert "USB-C Hub" in answer(tab, 1) and "warranty" in answer(tab, 1)
    send(tab, "What is the return policy for accessories?")
    assert answer(tab, 2).rstrip().endswith("Store credit or exchange.")
    expect(page.get_by_role("alert")).to_be_hidden()

    icon = page.locator("link[rel=icon]").evaluate("(link) => link.href")
    assert icon == f"{ours}/favicon.svg"
    fetched = page.request.get(icon)
    assert fetched.status == 200 and fetched.headers["content-type"].startswith("image/svg+xml")
    page.reload()  # the icon is fetched with the page, and any console error of the page's own
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    assert problems == [], problems

    assert AXE.is_file(), f"{AXE} is missing: scripts/build-webchat.sh installs axe-core"
    page.evaluate(AXE.read_text())  # evaluated through the DevTools protocol, so the CSP allows it
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["name"] == "axe-core"
    assert len(result["passes"]) > 10  # it did check the page
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
