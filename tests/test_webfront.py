"""The local web front over real HTTP: static app, config, and /invocations through the front door."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from scripts.localdev.frontdoor import Limits
from scripts.localdev.serving import BackgroundServer
from scripts.localdev.webfront import MAX_BODY_BYTES, SESSION_HEADER, build_webfront
from settings import AuthSettings
from tests.support.stack import USER_CLIENT

APP_ORIGIN = "http://127.0.0.1:9"
CONFIG = {"issuer": "http://127.0.0.1:7/us-east-1_X", "clientId": "web", "domain": "http://127.0.0.1:7"}


class FakeAgent:
    """Stands in for the agent: records what reached it and streams two pieces on cue."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.release = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    def app(self) -> Starlette:
        async def invocations(request: Request) -> Response:
            self.loop = asyncio.get_running_loop()
            body = await request.body()
            self.seen.append({"headers": dict(request.headers), "body": body})
            prompt = json.loads(body)["prompt"]
            if prompt == "deny":
                return JSONResponse({"error": "Invalid token"}, status_code=403)

            async def pieces() -> AsyncIterator[bytes]:
                yield b'data: "first "\n\n'
                await asyncio.wait_for(self.release.wait(), timeout=10)
                yield b'data: "last"\n\n'

            return StreamingResponse(pieces(), media_type="text/event-stream")

        return Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>chat</title>")
    (tmp_path / "app.js").write_text("console.log('app')")
    return tmp_path


@pytest.fixture
def front(dist: Path) -> Iterator[tuple[str, FakeAgent]]:
    agent = FakeAgent()
    with (
        BackgroundServer(agent.app()) as agent_server,
        BackgroundServer(build_webfront(agent_server.url, CONFIG, dist, app_origin=APP_ORIGIN)) as server,
    ):
        yield server.url, agent


def test_serves_the_app_and_its_config_with_strict_headers(front: tuple[str, FakeAgent]) -> None:
    url, _ = front
    page = httpx.get(f"{url}/", timeout=10)
    assert page.status_code == 200 and "<title>chat</title>" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "connect-src 'self' http://127.0.0.1:7" in csp  # the issuer, for discovery and tokens
    assert page.headers["referrer-policy"] == "no-referrer"
    # No copy of the page is kept once the customer leaves (nor of what it loads).
    for path in ("/", "/index.html", "/app.js"):
        assert httpx.get(f"{url}{path}", timeout=10).headers["cache-control"] == "no-store", path
    config = httpx.get(f"{url}/config.json", timeout=10)
    assert config.json() == CONFIG and config.headers["cache-control"] == "no-store"


def test_relays_only_the_token_and_session_header(front: tuple[str, FakeAgent]) -> None:
    url, agent = front
    agent.release.set()
    response = httpx.post(
        f"{url}/invocations",
        json={"prompt": "hi"},
        headers={
            "Authorization": "Bearer header.payload.signature",
            SESSION_HEADER: "s" * 40,
            "Cookie": "local-hosted-ui-session=abc",
            "X-Forwarded-For": "10.0.0.1",
            "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Actor": "someone-else",
        },
        timeout=10,
    )
    assert response.status_code == 200 and response.text == 'data: "first "\n\ndata: "last"\n\n'
    assert "cache-control" not in response.headers  # the agent's headers: no no-store added to a stream
    (seen,) = agent.seen
    assert json.loads(seen["body"]) == {"prompt": "hi"}
    forwarded = {
        k for k in seen["headers"] if k not in {"host", "content-length", "accept-encoding", "connection"}
    }
    assert forwarded == {"authorization", SESSION_HEADER.lower(), "content-type", "accept", "user-agent"}
    assert seen["headers"]["authorization"] == "Bearer header.payload.signature"
    assert seen["headers"]["user-agent"].startswith("python-httpx")  # ours, not the browser's


def test_streams_each_piece_as_it_arrives(front: tuple[str, FakeAgent]) -> None:
    url, agent = front
    with httpx.stream("POST", f"{url}/invocations", json={"prompt": "hi"}, timeout=10) as response:
        chunks = response.iter_raw()
        first = next(chunks)
        assert first == b'data: "first "\n\n'  # before the agent has even produced the second
        assert agent.loop is not None
        agent.loop.call_soon_threadsafe(agent.release.set)
        assert b"".join(chunks) == b'data: "last"\n\n'


def test_passes_refusals_through(front: tuple[str, FakeAgent]) -> None:
    url, _ = front
    response = httpx.post(f"{url}/invocations", json={"prompt": "deny"}, timeout=10)
    assert response.status_code == 403 and response.json() == {"error": "Invalid token"}


def test_cors_admits_only_the_apps_origin(front: tuple[str, FakeAgent]) -> None:
    url, _ = front
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    ok = httpx.options(f"{url}/invocations", headers={"Origin": APP_ORIGIN, **preflight}, timeout=10)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == APP_ORIGIN
    other = httpx.options(
        f"{url}/invocations", headers={"Origin": "https://evil.example", **preflight}, timeout=10
    )
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers


def test_oversized_body_is_refused(front: tuple[str, FakeAgent]) -> None:
    url, agent = front
    response = httpx.post(f"{url}/invocations", content=b"x" * (MAX_BODY_BYTES + 1), timeout=10)
    assert response.status_code == 413 and agent.seen == []


def test_unreachable_agent_is_a_502_and_the_front_stays_up(dist: Path) -> None:
    with BackgroundServer(build_webfront("http://127.0.0.1:9", CONFIG, dist)) as server:
        response = httpx.post(f"{server.url}/invocations", json={"prompt": "hi"}, timeout=20)
        # The front door's answer, shaped as API Gateway's.
        assert response.status_code == 502 and response.json() == {"message": "Bad Gateway"}
        assert httpx.get(f"{server.url}/config.json", timeout=10).status_code == 200


def test_refuses_to_start_without_a_built_app(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="build-webchat.sh"):
        build_webfront("http://127.0.0.1:9", CONFIG, tmp_path)


def _user_token(issuer: Any, sub: str) -> str:
    """A Cognito-shaped access token with the front door's scope, as the hosted UI issues it."""
    now = int(time.time())
    claims = {"iss": issuer.issuer, "sub": sub, "client_id": USER_CLIENT, "token_use": "access"}
    claims |= {"scope": "openid customersupport/invoke", "username": sub, "iat": now, "exp": now + 600}
    return issuer.sign({**claims, "jti": str(uuid.uuid4())})


def test_front_door_policy_a_user_over_the_limit_gets_429_another_keeps_chatting(
    issuer: Any, dist: Path
) -> None:
    # webchat.sh's front with the front door's policy on: same parameter names as the template.
    agent = FakeAgent()
    agent.release.set()
    auth = AuthSettings(
        discovery_url=issuer.discovery_url,
        allowed_clients=(USER_CLIENT,),
        allowed_scopes=("customersupport/invoke",),
    )
    limits = Limits.from_parameters({"ThrottleRateLimit": "0.1", "ThrottleBurstLimit": "2"})
    with (
        BackgroundServer(agent.app()) as agent_server,
        BackgroundServer(
            build_webfront(agent_server.url, CONFIG, dist, app_origin=APP_ORIGIN, auth=auth, limits=limits)
        ) as server,
    ):

        def send(token: str | None) -> httpx.Response:
            headers = {"Origin": APP_ORIGIN} | ({"Authorization": f"Bearer {token}"} if token else {})
            return httpx.post(f"{server.url}/invocations", json={"prompt": "hi"}, headers=headers, timeout=10)

        alice, bob = _user_token(issuer, "sub-alice"), _user_token(issuer, "sub-bob")
        assert [send(alice).status_code for _ in range(2)] == [200, 200]
        refused = send(alice)
        assert refused.status_code == 429
        assert refused.json()["message"] == "Too Many Requests"
        assert 1 <= int(refused.headers["retry-after"]) == refused.json()["retryAfterSeconds"] <= 20
        assert refused.headers["access-control-allow-origin"] == APP_ORIGIN  # the page can read it
        assert [send(bob).status_code for _ in range(2)] == [200, 200]
        # No token: the front door refuses it before the agent; the page itself is still served.
        assert send(None).status_code == 401
        assert len(agent.seen) == 4
        assert httpx.get(f"{server.url}/", timeout=10).status_code == 200
