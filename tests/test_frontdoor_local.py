"""The local front door (scripts/localdev/frontdoor.py) over real HTTP, with tokens from the local issuer.

The upstream is either a small stand-in that records what reached it and streams behind a gate (to
prove the front door forwards each event as it is produced), or the real agent process.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from scripts.localdev.frontdoor import SESSION_HEADER, Limits, build_frontdoor
from scripts.localdev.serving import BackgroundServer
from settings import AuthSettings
from tests.support.processes import REPO, free_port, start_process, stop_process, wait_http
from tests.support.stack import USER_CLIENT

ORIGIN = "http://127.0.0.1:5173"
SCOPE = "customersupport/invoke"


@dataclass
class Upstream:
    """A stand-in agent: records request headers; streams 'first', waits for the gate, then 'last'."""

    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    last_produced_at: list[float] = field(default_factory=list)

    def app(self) -> Starlette:
        async def invocations(request: Request) -> StreamingResponse:
            self.seen.append(dict(request.headers))
            await request.body()
            gated = request.query_params.get("gated") == "1" or b"gated" in await request.body()

            async def events() -> AsyncIterator[bytes]:
                yield b'data: "first"\n\n'
                if gated:
                    # Bounded: a broken test must not hang the server.
                    await asyncio.to_thread(self.gate.wait, 10)
                self.last_produced_at.append(time.monotonic())
                yield b'data: "last"\n\n'

            return StreamingResponse(
                events(), media_type="text/event-stream", headers={SESSION_HEADER: "echo", "x-internal": "no"}
            )

        return Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    stand_in = Upstream()
    with BackgroundServer(stand_in.app()) as server:
        stand_in.url = server.url
        yield stand_in
    stand_in.gate.set()


def auth_for(issuer: Any) -> AuthSettings:
    return AuthSettings(
        discovery_url=issuer.discovery_url, allowed_clients=(USER_CLIENT,), allowed_scopes=(SCOPE,)
    )


@pytest.fixture
def frontdoor(issuer: Any, upstream: Upstream) -> Iterator[Any]:
    """A front door factory over the stand-in; every door started is stopped after the test."""
    servers: list[BackgroundServer] = []

    def start(limits: Limits | None = None, target: str | None = None) -> str:
        server = BackgroundServer(
            build_frontdoor(target or upstream.url, ORIGIN, auth_for(issuer), limits)
        ).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def user_token(issuer: Any, sub: str, scope: str = f"openid {SCOPE}", client_id: str = USER_CLIENT) -> str:
    """A Cognito-shaped user access token carrying the front door's scope (as the hosted UI issues)."""
    now = int(time.time())
    return issuer.sign(
        {
            "iss": issuer.issuer,
            "sub": sub,
            "client_id": client_id,
            "token_use": "access",
            "scope": scope,
            "username": sub,
            "iat": now,
            "exp": now + 600,
            "jti": str(uuid.uuid4()),
        }
    )


def post(url: str, token: str | None, **headers: str) -> httpx.Response:
    send = {"Origin": ORIGIN, **headers}
    if token is not None:
        send["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}/invocations", json={"prompt": "hi"}, headers=send, timeout=15)


# ------------------------------------------------------------------------------------- per-user limits


def test_user_over_the_throttle_gets_429_while_another_keeps_working(issuer: Any, frontdoor: Any) -> None:
    url = frontdoor(Limits(ThrottleRateLimit=0.1, ThrottleBurstLimit=2, QuotaLimitPerDay=100))
    alice, bob = user_token(issuer, "sub-alice"), user_token(issuer, "sub-bob")
    assert [post(url, alice).status_code for _ in range(2)] == [200, 200]

    refused = post(url, alice)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    body = refused.json()
    assert body["message"] == "Too Many Requests"
    # The window is burst / rate = 20 s; the wait announced is within it.
    assert 1 <= int(refused.headers["retry-after"]) == body["retryAfterSeconds"] <= 20
    # The browser may read the refusal: CORS headers are on it too.
    assert refused.headers["access-control-allow-origin"] == ORIGIN

    assert [post(url, bob).status_code for _ in range(2)] == [200, 200]
    # A fresh token of the same user is the same user: the limit follows `sub`, not the token.
    assert post(url, user_token(issuer, "sub-alice")).status_code == 429


def test_daily_quota_is_per_user_and_says_when_it_resets(issuer: Any, frontdoor: Any) -> None:
    url = frontdoor(Limits(ThrottleRateLimit=100, ThrottleBurstLimit=100, QuotaLimitPerDay=3))
    alice, bob = user_token(issuer, "sub-alice"), user_token(issuer, "sub-bob")
    assert [post(url, alice).status_code for _ in range(3)] == [200, 200, 200]
    refused = post(url, alice)
    assert (refused.status_code, refused.json()["message"]) == (429, "Limit Exceeded")
    seconds_to_utc_midnight = 86400 - int(time.time()) % 86400
    assert abs(int(refused.headers["retry-after"]) - seconds_to_utc_midnight) <= 2
    assert post(url, bob).status_code == 200


def test_refused_callers_are_not_counted_and_never_reach_the_agent(
    issuer: Any, frontdoor: Any, upstream: Upstream
) -> None:
    url = frontdoor(Limits(ThrottleRateLimit=0.1, ThrottleBurstLimit=1, QuotaLimitPerDay=100))
    missing = post(url, None)
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})  # API Gateway's
    # Wrong scope (a token meant for something else), another client: Deny; a forged signature: 401.
    assert post(url, user_token(issuer, "sub-alice", scope="openid")).status_code == 403
    assert post(url, user_token(issuer, "sub-alice", client_id="other-client")).status_code == 403
    good = user_token(issuer, "sub-alice")
    forged = good[: good.rindex(".") + 1] + ("A" * 20)
    assert post(url, forged).status_code == 401
    assert upstream.seen == []
    # None of the refusals used alice's single burst slot.
    assert post(url, good).status_code == 200


# ------------------------------------------------------------------------------------- CORS


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{url}/invocations",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": f"authorization,content-type,{SESSION_HEADER.lower()}",
        },
        timeout=10,
    )


def test_cors_preflight_allowed_for_the_app_origin_only(frontdoor: Any, upstream: Upstream) -> None:
    url = frontdoor()
    allowed = preflight(url, ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert SESSION_HEADER.lower() in allowed.headers["access-control-allow-headers"].lower()

    for other in ("https://evil.example", "http://127.0.0.1:5174", "null"):
        refused = preflight(url, other)
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
    assert upstream.seen == []  # preflights are answered by the front door


def test_actual_response_to_another_origin_carries_no_cors_grant(issuer: Any, frontdoor: Any) -> None:
    url = frontdoor()
    response = post(url, user_token(issuer, "sub-carol"), Origin="https://evil.example")
    # CORS is enforced by browsers: the server answers, but without a grant the page cannot read it.
    assert "access-control-allow-origin" not in response.headers


# ------------------------------------------------------------------------------------- the proxy


def test_only_authorization_and_session_id_reach_the_agent(
    issuer: Any, frontdoor: Any, upstream: Upstream
) -> None:
    url = frontdoor()
    token = user_token(issuer, "sub-alice")
    response = post(
        url,
        token,
        **{SESSION_HEADER: "session-0123456789-0123456789-01234567", "Cookie": "a=b", "X-Api-Key": "k"},
        **{"X-Forwarded-For": "10.0.0.1", "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Actor": "admin"},
    )
    assert response.status_code == 200
    (seen,) = upstream.seen
    transport = {"host", "content-length", "accept", "accept-encoding", "user-agent", "connection"}
    assert set(seen) - transport == {"authorization", SESSION_HEADER.lower()}
    assert seen["authorization"] == f"Bearer {token}"
    assert seen[SESSION_HEADER.lower()] == "session-0123456789-0123456789-01234567"
    assert response.headers[SESSION_HEADER.lower()] == "echo"
    assert "x-internal" not in response.headers


def test_stream_passes_through_unbuffered(issuer: Any, frontdoor: Any, upstream: Upstream) -> None:
    url = frontdoor()
    headers = {"Authorization": f"Bearer {user_token(issuer, 'sub-alice')}", "Origin": ORIGIN}
    with httpx.stream(
        "POST", f"{url}/invocations", content=b'{"prompt": "gated"}', headers=headers, timeout=15
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        first = next(line for line in lines if line)
        # The first event is here while the last one has not even been produced yet.
        assert first == 'data: "first"'
        assert upstream.last_produced_at == []
        upstream.gate.set()
        rest = [line for line in lines if line]
    assert rest == ['data: "last"']
    assert len(upstream.last_produced_at) == 1


def test_unreachable_agent_is_a_clean_502_and_the_door_stays_up(issuer: Any, frontdoor: Any) -> None:
    url = frontdoor(target=f"http://127.0.0.1:{free_port()}")
    token = user_token(issuer, "sub-alice")
    response = post(url, token)
    assert (response.status_code, response.json()) == (502, {"message": "Bad Gateway"})
    assert preflight(url, ORIGIN).status_code == 200


def test_oversized_body_is_refused(issuer: Any, frontdoor: Any, upstream: Upstream) -> None:
    url = frontdoor()
    response = httpx.post(
        f"{url}/invocations",
        content=b"x" * (10 * 1024 * 1024 + 1),
        headers={"Authorization": f"Bearer {user_token(issuer, 'sub-alice')}"},
        timeout=30,
    )
    assert (response.status_code, response.json()) == (413, {"message": "Request too large"})
    assert upstream.seen == []


def test_real_agent_behind_the_front_door(issuer: Any, shared_agent: Any, frontdoor: Any) -> None:
    url = frontdoor(target=shared_agent.url)
    response = post(url, user_token(issuer, "sub-dora"), **{SESSION_HEADER: f"fd-{uuid.uuid4()}"})
    assert response.status_code == 200
    texts = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert "".join(t for t in texts if isinstance(t, str)).startswith("[offline model]")


# ------------------------------------------------------------------------------------- parameters & CLI


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ThrottleRate": "1"}, "unknown parameter"),
        ({"ThrottleBurstLimit": "many"}, "must be a number"),
        ({"ThrottleRateLimit": "0"}, "must be > 0"),
        ({"QuotaLimitPerDay": "0"}, ">= 1"),
    ],
)
def test_bad_parameters_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Limits.from_parameters(values)


def test_throttle_window_keeps_burst_and_long_run_rate() -> None:
    item = Limits.from_parameters({"ThrottleRateLimit": "0.5", "ThrottleBurstLimit": "4"}).throttle_item()
    assert (item.amount, item.get_expiry()) == (4, 8)


def test_runs_standalone(issuer: Any, upstream: Upstream, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "FRONTDOOR_"))}
    env.update(AUTH_DISCOVERY_URL=issuer.discovery_url, AUTH_ALLOWED_CLIENTS=USER_CLIENT)
    args = ["--upstream", upstream.url, "--origin", ORIGIN, "--port", str(port)]
    proc = start_process(
        [sys.executable, "-m", "scripts.localdev.frontdoor", *args, "--parameter", "ThrottleBurstLimit=1"],
        env=env,
        cwd=REPO,
        log=tmp_path / "frontdoor.log",
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/invocations", proc)
        assert preflight(url, ORIGIN).status_code == 200
        token = user_token(issuer, "sub-erin")
        assert [post(url, token).status_code for _ in range(2)] == [200, 429]
    finally:
        stop_process(proc)
    bad = subprocess.run(
        [sys.executable, "-m", "scripts.localdev.frontdoor", *args, "--parameter", "Nope=1"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "unknown parameter(s): Nope" in bad.stderr
