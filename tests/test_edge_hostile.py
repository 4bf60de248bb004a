"""Hostile input at the edge: refused before agent code, with a clear status, no traceback."""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from typing import Any

import httpx
import pytest

from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.pool import IssuerConfig
from scripts.localdev.serving import BackgroundServer
from tests.support.stack import auth_env, claims

SESSION = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


def post(agent: Any, headers: list[tuple[str, str]], content: bytes) -> httpx.Response:
    return httpx.post(f"{agent.url}/invocations", headers=headers, content=content, timeout=30)


def test_duplicate_authorization_headers_are_refused(make_agent: Any, issuer: LocalIssuer) -> None:
    agent = make_agent(**auth_env(issuer))
    good = "Bearer " + issuer.sign(claims(issuer))
    body = json.dumps({"prompt": "Return policy for audio?"}).encode()
    for pair in ([good, "Bearer garbage"], ["Bearer garbage", good], [good, good]):
        response = post(agent, [("Authorization", value) for value in pair], body)
        assert response.status_code == 400
        assert response.json() == {"error": "Send exactly one Authorization header"}
    assert agent.entered == []
    assert post(agent, [("Authorization", good)], body).status_code == 200


def test_duplicate_session_headers_are_refused(make_agent: Any, issuer: LocalIssuer) -> None:
    agent = make_agent(**auth_env(issuer))
    headers = [
        ("Authorization", "Bearer " + issuer.sign(claims(issuer))),
        (SESSION, "s-one"),
        (SESSION, "s-two"),
    ]
    response = post(agent, headers, json.dumps({"prompt": "hi"}).encode())
    assert response.status_code == 400
    assert response.json() == {"error": "Send exactly one session id header"}
    assert agent.entered == []


@pytest.mark.parametrize("depth", [33, 5_000, 30_000])
def test_deeply_nested_json_is_400_without_traceback(
    make_agent: Any, issuer: LocalIssuer, caplog: pytest.LogCaptureFixture, depth: int
) -> None:
    agent = make_agent(**auth_env(issuer))
    body = b'{"prompt": "hi", "x": ' + b"[" * depth + b"]" * depth + b"}"
    assert len(body) < 64 * 1024
    with caplog.at_level(logging.DEBUG):
        response = post(agent, [("Authorization", "Bearer " + issuer.sign(claims(issuer)))], body)
    assert response.status_code == 400
    assert response.json() == {"error": "Body nests JSON deeper than 32 levels"}
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text
    assert agent.entered == []
    assert httpx.get(f"{agent.url}/ping").json()["status"] == "Healthy"


def test_nesting_at_the_limit_is_accepted(make_agent: Any, issuer: LocalIssuer) -> None:
    agent = make_agent(**auth_env(issuer))
    body = b'{"prompt": "Return policy for audio?", "x": ' + b"[" * 31 + b"]" * 31 + b"}"
    response = post(agent, [("Authorization", "Bearer " + issuer.sign(claims(issuer)))], body)
    assert response.status_code == 200 and len(agent.entered) == 1


def test_body_not_received_in_time_is_408_and_connection_closed(make_agent: Any, issuer: LocalIssuer) -> None:
    agent = make_agent(**auth_env(issuer), BODY_TIMEOUT_SECONDS="1")
    token = issuer.sign(claims(issuer))
    port = int(agent.url.rsplit(":", 1)[1])
    request = (
        "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n"
    ).encode() + b'{"prompt": "hi'  # and then nothing more
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        start = time.monotonic()
        sock.sendall(request)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:  # the server closed the connection
                break
            received += chunk
        elapsed = time.monotonic() - start
    head, _, payload = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(payload) == {"error": "Body not received within 1 seconds"}
    assert 0.9 <= elapsed < 5
    assert agent.entered == []
    assert httpx.get(f"{agent.url}/ping").json()["status"] == "Healthy"


def test_failing_jwks_refreshes_are_rate_limited(make_agent: Any) -> None:
    failing = LocalIssuer(IssuerConfig())
    failing.keys.jwks = lambda: 1 / 0  # type: ignore[method-assign,assignment,return-value]  # JWKS → 500
    with BackgroundServer(failing.app()) as server:
        failing.base_url = server.url
        agent = make_agent(
            **{**auth_env(failing), "AUTH_JWKS_MIN_REFRESH_SECONDS": "60"},
        )
        statuses = {
            agent.post("Bearer " + failing.sign(claims(failing), kid=uuid.uuid4().hex)).status_code
            for _ in range(50)
        }
    assert statuses == {503}
    assert failing.jwks_requests == 1


def test_removed_key_stops_verifying_after_the_cache_ttl(make_agent: Any) -> None:
    rotating = LocalIssuer(IssuerConfig())
    with BackgroundServer(rotating.app()) as server:
        rotating.base_url = server.url
        agent = make_agent(
            **{
                **auth_env(rotating),
                "AUTH_JWKS_CACHE_TTL_SECONDS": "1",
                "AUTH_JWKS_MIN_REFRESH_SECONDS": "0.5",
            }
        )
        token = "Bearer " + rotating.sign(claims(rotating))
        assert agent.post(token).status_code == 200
        rotating.keys.add()
        del rotating.keys._keys[0]  # the issuer withdraws the key that signed `token`
        assert agent.post(token).status_code == 200  # still cached
        time.sleep(1.2)
        assert agent.post(token).status_code == 403
        assert agent.post("Bearer " + rotating.sign(claims(rotating))).status_code == 200
    assert rotating.jwks_requests == 2
