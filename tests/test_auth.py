"""Runtime-equivalent JWT enforcement in the agent process: the auth matrix.

The agent app runs in-process behind uvicorn (real HTTP, real RS256 signatures, real discovery and
JWKS over HTTP) so the test can prove the entrypoint is never entered for a rejected request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.pool import IssuerConfig
from scripts.localdev.serving import BackgroundServer
from tests.support.stack import MACHINE_CLIENT, SCOPE, USER_CLIENT, auth_env, claims


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(issuer: LocalIssuer) -> str:
    """The classic key-confusion attack: HMAC keyed with the RSA public key PEM."""
    kid, key = issuer.keys.current
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': kid}).encode())}."
        f"{b64(json.dumps(claims(issuer)).encode())}"
    )
    return f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


def alg_none(issuer: LocalIssuer) -> str:
    kid, _ = issuer.keys.current
    return jwt.encode(claims(issuer), "", algorithm="none", headers={"kid": kid})


def tampered(issuer: LocalIssuer) -> str:
    header, _, signature = issuer.sign(claims(issuer)).split(".")
    payload = b64(json.dumps(claims(issuer, sub="sub-admin")).encode())
    return f"{header}.{payload}.{signature}"


def foreign_key(issuer: LocalIssuer) -> str:
    """Same issuer, same kid, but signed by a key that issuer never published."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return issuer.sign(claims(issuer), key=other)


def other_issuer_token(issuer: LocalIssuer) -> str:
    stranger = LocalIssuer(IssuerConfig(pool_id="us-east-1_OTHER"), base_url="http://127.0.0.1:9")
    return stranger.sign(claims(stranger))


REJECTIONS: list[tuple[str, Any, int]] = [
    ("missing header", lambda i: None, 401),
    ("non-Bearer scheme", lambda i: "Basic " + b64(b"user:pass"), 401),
    ("empty bearer", lambda i: "Bearer", 401),
    ("garbage", lambda i: "Bearer not-a-jwt", 403),
    ("bad signature", lambda i: "Bearer " + tampered(i), 403),
    ("alg none", lambda i: "Bearer " + alg_none(i), 403),
    ("HS256 with the public key", lambda i: "Bearer " + hs256_with_public_key(i), 403),
    ("wrong issuer", lambda i: "Bearer " + i.sign(claims(i, iss="https://evil.example.com/pool")), 403),
    ("expired beyond 60s skew", lambda i: "Bearer " + i.sign(claims(i, exp=int(time.time()) - 120)), 403),
    ("not yet valid", lambda i: "Bearer " + i.sign(claims(i, nbf=int(time.time()) + 300)), 403),
    ("issued in the future", lambda i: "Bearer " + i.sign(claims(i, iat=int(time.time()) + 300)), 403),
    ("wrong client_id", lambda i: "Bearer " + i.sign(claims(i, client_id="someone-else")), 403),
    (
        "exp as a numeric string",
        lambda i: "Bearer " + i.sign(claims(i, exp=str(int(time.time()) + 600))),
        403,
    ),
    ("iat as a numeric string", lambda i: "Bearer " + i.sign(claims(i, iat=str(int(time.time())))), 403),
    ("nbf as a numeric string", lambda i: "Bearer " + i.sign(claims(i, nbf=str(int(time.time()) - 10))), 403),
    ("exp as a boolean", lambda i: "Bearer " + i.sign(claims(i, exp=True)), 403),
    (
        "ID token (aud, no client_id)",
        lambda i: "Bearer " + i.user_tokens(i.user("alice"), USER_CLIENT)["id"],
        403,
    ),
    ("unknown kid", lambda i: "Bearer " + i.sign(claims(i), kid="no-such-kid"), 403),
    ("key the issuer never published", lambda i: "Bearer " + foreign_key(i), 403),
    ("another issuer's token", lambda i: "Bearer " + other_issuer_token(i), 403),
    ("no sub", lambda i: "Bearer " + i.sign(claims(i, sub=None)), 403),
    ("no exp", lambda i: "Bearer " + i.sign(claims(i, exp=None)), 403),
]


@pytest.fixture(scope="module")
def enforcing(issuer: LocalIssuer) -> dict[str, str]:
    return auth_env(issuer)


def test_auth_matrix(make_agent: Any, issuer: LocalIssuer, enforcing: dict[str, str]) -> None:
    agent = make_agent(**enforcing)
    for name, make_header, status in REJECTIONS:
        response = agent.post(make_header(issuer))
        assert response.status_code == status, (name, response.status_code, response.text)
        body = response.json()
        assert set(body) == {"error"} and len(body["error"]) < 80, (name, body)
        if status == 401:
            assert response.headers["www-authenticate"].startswith("Bearer"), name
    assert agent.entered == [], "the entrypoint ran for a rejected request"
    assert httpx.get(f"{agent.url}/ping").json()["status"] == "Healthy"

    accepted = agent.post("Bearer " + issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE]))
    assert accepted.status_code == 200 and "30 days" in accepted.text
    assert len(agent.entered) == 1


def test_clock_skew_up_to_60_seconds_is_tolerated(
    make_agent: Any, issuer: LocalIssuer, enforcing: dict[str, str]
) -> None:
    agent = make_agent(**enforcing)
    just_expired = issuer.sign(claims(issuer, exp=int(time.time()) - 30))
    assert agent.post("Bearer " + just_expired).status_code == 200
    lowercase_scheme = agent.post("bearer " + issuer.sign(claims(issuer)))
    assert lowercase_scheme.status_code == 200


def test_user_access_token_is_accepted(
    make_agent: Any, issuer: LocalIssuer, enforcing: dict[str, str]
) -> None:
    agent = make_agent(**enforcing)
    bob = issuer.user("bob")
    assert bob is not None
    token = issuer.user_tokens(bob, USER_CLIENT)["access"]
    assert agent.post("Bearer " + token).status_code == 200


def test_scope_and_audience_allow_lists(
    make_agent: Any, issuer: LocalIssuer, enforcing: dict[str, str]
) -> None:
    agent = make_agent(**{**enforcing, "AUTH_ALLOWED_SCOPES": SCOPE, "AUTH_ALLOWED_CLIENTS": ""})
    assert agent.post("Bearer " + issuer.sign(claims(issuer))).status_code == 200
    assert agent.post("Bearer " + issuer.sign(claims(issuer, scope="other/read"))).status_code == 403
    assert agent.post("Bearer " + issuer.sign(claims(issuer, scope=None))).status_code == 403
    agent.server.stop()

    agent = make_agent(**{**enforcing, "AUTH_ALLOWED_AUDIENCE": "cs-api", "AUTH_ALLOWED_CLIENTS": ""})
    assert agent.post("Bearer " + issuer.sign(claims(issuer, aud=["x", "cs-api"]))).status_code == 200
    assert agent.post("Bearer " + issuer.sign(claims(issuer, aud="cs-api"))).status_code == 200
    assert agent.post("Bearer " + issuer.sign(claims(issuer, aud="other"))).status_code == 403
    assert agent.post("Bearer " + issuer.sign(claims(issuer))).status_code == 403


def test_key_rotation_refreshes_the_jwks_once(make_agent: Any, enforcing: dict[str, str]) -> None:
    rotating = LocalIssuer(IssuerConfig())
    with BackgroundServer(rotating.app()) as server:
        rotating.base_url = server.url
        agent = make_agent(**{**enforcing, "AUTH_DISCOVERY_URL": rotating.discovery_url})
        assert agent.post("Bearer " + rotating.sign(claims(rotating))).status_code == 200
        assert agent.post("Bearer " + rotating.sign(claims(rotating))).status_code == 200
        assert rotating.jwks_requests == 1, "JWKS must be cached"

        # Within the refresh interval, junk kids do not make the agent hammer the JWKS.
        for _ in range(3):
            assert agent.post("Bearer " + rotating.sign(claims(rotating), kid="junk")).status_code == 403
        assert rotating.jwks_requests == 1

    # A fresh verifier (interval 0): a new key is picked up by exactly one refresh.
    rotating2 = LocalIssuer(IssuerConfig())
    with BackgroundServer(rotating2.app()) as server:
        rotating2.base_url = server.url
        agent = make_agent(
            **{
                **enforcing,
                "AUTH_DISCOVERY_URL": rotating2.discovery_url,
                "AUTH_JWKS_MIN_REFRESH_SECONDS": "0",
            }
        )
        assert agent.post("Bearer " + rotating2.sign(claims(rotating2))).status_code == 200
        rotating2.keys.add()
        assert agent.post("Bearer " + rotating2.sign(claims(rotating2))).status_code == 200
        assert agent.post("Bearer " + rotating2.sign(claims(rotating2))).status_code == 200
        assert rotating2.jwks_requests == 2


def test_unreachable_identity_provider_is_503_then_recovers(
    make_agent: Any, enforcing: dict[str, str]
) -> None:
    flaky = LocalIssuer(IssuerConfig())
    server = BackgroundServer(flaky.app()).start()
    port = server.port
    flaky.base_url = server.url
    server.stop()  # the issuer is down before the agent ever saw it

    agent = make_agent(
        **{**enforcing, "AUTH_DISCOVERY_URL": flaky.discovery_url, "AUTH_JWKS_MIN_REFRESH_SECONDS": "1"}
    )
    token = "Bearer " + flaky.sign(claims(flaky))
    down = agent.post(token)
    assert down.status_code == 503
    assert down.json() == {"error": "The identity provider is unreachable; try again shortly"}
    assert httpx.get(f"{agent.url}/ping").json()["status"] == "Healthy"

    with BackgroundServer(flaky.app(), port=port):
        # Failed fetches are rate-limited too: within the interval nothing is fetched.
        assert agent.post(token).status_code == 503 and flaky.jwks_requests == 0
        time.sleep(1.1)
        assert agent.post(token).status_code == 200
    assert len(agent.entered) == 1


def test_unconfigured_authorizer_fails_closed(make_agent: Any, issuer: LocalIssuer) -> None:
    agent = make_agent(
        AUTH_MODE="enforce", AUTH_DISCOVERY_URL="", AGENTCORE_MANIFEST="/nonexistent/agentcore.json"
    )
    response = agent.post("Bearer " + issuer.sign(claims(issuer)))
    assert response.status_code == 503 and agent.entered == []


def test_trust_runtime_mode_decodes_without_verifying(make_agent: Any, issuer: LocalIssuer) -> None:
    """Where the runtime already verified the token, the agent only reads `sub` from it."""
    agent = make_agent(AUTH_MODE="trust-runtime", AUTH_DISCOVERY_URL="https://unreachable.invalid/x")
    assert agent.post("Bearer " + issuer.sign(claims(issuer))).status_code == 200
    assert agent.post(None).status_code == 401
    assert agent.post("Bearer garbage").status_code == 403


def test_off_mode_serves_tokenless_calls_but_still_verifies_presented_tokens(
    make_agent: Any, issuer: LocalIssuer, enforcing: dict[str, str]
) -> None:
    agent = make_agent(**{**enforcing, "AUTH_MODE": "off"})
    assert agent.post(None).status_code == 200
    assert agent.post("Bearer " + tampered(issuer)).status_code == 403
    assert agent.post("Bearer " + issuer.sign(claims(issuer))).status_code == 200
