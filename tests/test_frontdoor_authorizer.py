"""The front door's Lambda authorizer (app/FrontDoorAuthorizer/handler.py).

Tokens come from the local issuer over real HTTP (its JWKS is what the handler fetches); the usage
plan and the per-user API keys live in moto's API Gateway.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.support.stack import MACHINE_CLIENT, USER_CLIENT

HANDLER = Path(__file__).resolve().parents[1] / "app" / "FrontDoorAuthorizer" / "handler.py"
SCOPE = "customersupport/invoke"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/invocations"


def _load() -> ModuleType:
    """The handler loaded from its file as Lambda does; every call is a new execution environment."""
    name = f"frontdoor_authorizer_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def apigw(aws_env: dict[str, str]) -> Any:
    return boto3.client("apigateway")


@pytest.fixture
def authorizer(issuer: Any, apigw: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, str]]:
    """A fresh handler module (cold execution environment) configured for a new usage plan."""
    name = f"plan-{uuid.uuid4().hex[:8]}"
    apigw.create_usage_plan(name=f"{name}-other")
    plan_id = apigw.create_usage_plan(name=name)["id"]
    monkeypatch.setenv("ISSUER", issuer.issuer)
    monkeypatch.setenv("ALLOWED_CLIENT_IDS", f"{USER_CLIENT}, {MACHINE_CLIENT}")
    monkeypatch.setenv("REQUIRED_SCOPE", SCOPE)
    monkeypatch.setenv("USAGE_PLAN_NAME", name)  # as the template configures it
    monkeypatch.setenv("API_KEY_NAME_PREFIX", "test-user-")
    yield _load(), plan_id


def token(issuer: Any, subject: str, /, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer.issuer,
        "sub": subject,
        "client_id": USER_CLIENT,
        "token_use": "access",
        "scope": f"openid email {SCOPE}",
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        **overrides,
    }
    return issuer.sign({k: v for k, v in claims.items() if v is not None})


def event(authorization: Any) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": authorization, "methodArn": METHOD_ARN}


def plan_members(apigw: Any, plan_id: str) -> dict[str, str]:
    return {k["name"]: k["value"] for k in apigw.get_usage_plan_keys(usagePlanId=plan_id)["items"]}


def test_allows_a_user_with_their_own_usage_plan_key(authorizer: Any, apigw: Any, issuer: Any) -> None:
    handler, plan_id = authorizer
    result = handler.lambda_handler(event(f"Bearer {token(issuer, 'sub-alice')}"), None)
    assert result["principalId"] == "sub-alice"
    assert result["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}],
    }
    assert result["context"] == {"sub": "sub-alice", "edgeGrant": ""}  # no grant key configured here
    assert plan_members(apigw, plan_id) == {"test-user-sub-alice": result["usageIdentifierKey"]}

    bob = handler.lambda_handler(event(f"Bearer {token(issuer, 'sub-bob')}"), None)
    assert bob["usageIdentifierKey"] != result["usageIdentifierKey"]
    assert set(plan_members(apigw, plan_id)) == {"test-user-sub-alice", "test-user-sub-bob"}


def test_key_is_created_once_even_across_cold_starts(
    authorizer: Any, apigw: Any, issuer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, plan_id = authorizer
    first = handler.lambda_handler(event(f"Bearer {token(issuer, 'sub-carol')}"), None)["usageIdentifierKey"]
    again = handler.lambda_handler(event(f"Bearer {token(issuer, 'sub-carol')}"), None)["usageIdentifierKey"]
    cold = _load()  # a new execution environment: no memory of carol, the key exists already
    third = cold.lambda_handler(event(f"Bearer {token(issuer, 'sub-carol')}"), None)["usageIdentifierKey"]
    assert first == again == third
    keys = apigw.get_api_keys(nameQuery="test-user-sub-carol", includeValues=True)["items"]
    assert [(k["name"], k["value"], k["enabled"]) for k in keys] == [("test-user-sub-carol", first, True)]
    assert plan_members(apigw, plan_id) == {"test-user-sub-carol": first}


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt", "Bearer a.b.c"],
)
def test_malformed_authorization_is_401(authorizer: Any, authorization: Any) -> None:
    handler, _ = authorizer
    with pytest.raises(Exception, match="^Unauthorized$"):
        handler.lambda_handler(event(authorization), None)


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 3600},  # expired
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"},  # another pool
        {"token_use": "id"},  # an ID token
        {"token_use": None},
        {"sub": None},
    ],
    ids=["expired", "other-issuer", "id-token", "no-token-use", "no-sub"],
)
def test_invalid_tokens_are_401(authorizer: Any, issuer: Any, overrides: dict[str, Any]) -> None:
    handler, _ = authorizer
    with pytest.raises(Exception, match="^Unauthorized$"):
        handler.lambda_handler(event(f"Bearer {token(issuer, 'sub-alice', **overrides)}"), None)


def test_forged_signature_is_401(authorizer: Any, issuer: Any) -> None:
    handler, _ = authorizer
    good = token(issuer, "sub-alice")
    with pytest.raises(Exception, match="^Unauthorized$"):
        handler.lambda_handler(event("Bearer " + good[: good.rindex(".") + 1] + "A" * 43), None)


@pytest.mark.parametrize(
    "overrides",
    [{"client_id": "someone-elses-client"}, {"scope": "openid email"}, {"scope": None}],
    ids=["other-client", "no-invoke-scope", "no-scope"],
)
def test_genuine_token_for_something_else_is_denied_and_gets_no_key(
    authorizer: Any, apigw: Any, issuer: Any, overrides: dict[str, Any]
) -> None:
    handler, plan_id = authorizer
    result = handler.lambda_handler(event(f"Bearer {token(issuer, 'sub-mallory', **overrides)}"), None)
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "usageIdentifierKey" not in result
    assert plan_members(apigw, plan_id) == {}


def test_logs_hold_outcomes_only(authorizer: Any, issuer: Any, caplog: pytest.LogCaptureFixture) -> None:
    handler, _ = authorizer
    good = token(issuer, "sub-dave")
    with caplog.at_level(logging.INFO):
        handler.lambda_handler(event(f"Bearer {good}"), None)
        with pytest.raises(Exception, match="Unauthorized"):
            handler.lambda_handler(event("Bearer x.y.z"), None)
        handler.lambda_handler(event(f"Bearer {token(issuer, 'sub-dave', scope='openid')}"), None)
    messages = [r.getMessage() for r in caplog.records if r.name == handler.__name__]
    assert messages == ["outcome=allowed", "outcome=unauthorized", "outcome=forbidden reason=scope missing"]
    assert "sub-dave" not in caplog.text


def test_unreachable_issuer_fails_closed(
    authorizer: Any, issuer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.processes import free_port

    monkeypatch.setenv("ISSUER", f"http://127.0.0.1:{free_port()}/pool")
    handler = _load()
    with pytest.raises(Exception) as failed:
        handler.lambda_handler(event(f"Bearer {token(issuer, 'sub-alice')}"), None)
    assert str(failed.value) != "Unauthorized"  # a 500, not a 401 that would blame the user


def test_usage_plan_name_must_be_unambiguous(
    authorizer: Any, apigw: Any, issuer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USAGE_PLAN_NAME", "plan-twice")
    apigw.create_usage_plan(name="plan-twice")
    apigw.create_usage_plan(name="plan-twice")
    with pytest.raises(RuntimeError, match="exactly one usage plan named 'plan-twice', found 2"):
        _load().lambda_handler(event(f"Bearer {token(issuer, 'sub-alice')}"), None)


# -------------------------------------------------------------------- keys expire; the edge grant


def test_a_key_withdrawn_from_the_jwks_stops_being_trusted_after_the_ttl(
    authorizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scripts.localdev.issuer import LocalIssuer
    from scripts.localdev.pool import IssuerConfig
    from scripts.localdev.serving import BackgroundServer

    rotating = LocalIssuer(IssuerConfig())
    with BackgroundServer(rotating.app()) as server:
        rotating.base_url = server.url
        monkeypatch.setenv("ISSUER", rotating.issuer)
        monkeypatch.setenv("JWKS_CACHE_SECONDS", "1")
        monkeypatch.setenv("JWKS_MIN_REFRESH_SECONDS", "0.5")
        handler = _load()
        old = token(rotating, "sub-alice")
        assert handler.lambda_handler(event(f"Bearer {old}"), None)["principalId"] == "sub-alice"
        rotating.keys.add()
        del rotating.keys._keys[0]  # the pool withdraws the key that signed `old`
        assert handler.lambda_handler(event(f"Bearer {old}"), None)["principalId"] == "sub-alice"  # cached
        time.sleep(1.2)
        with pytest.raises(Exception, match="^Unauthorized$"):
            handler.lambda_handler(event(f"Bearer {old}"), None)
        new = token(rotating, "sub-alice")
        assert handler.lambda_handler(event(f"Bearer {new}"), None)["principalId"] == "sub-alice"
    assert rotating.jwks_requests == 2


def test_unknown_key_ids_refetch_the_jwks_at_most_once_per_interval(
    authorizer: Any, issuer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWKS_MIN_REFRESH_SECONDS", "1")
    handler = _load()
    handler.lambda_handler(event(f"Bearer {token(issuer, 'sub-alice')}"), None)
    before = issuer.jwks_requests

    def junk() -> None:
        forged = issuer.sign({"sub": "x", "iss": issuer.issuer}, kid=uuid.uuid4().hex)
        with pytest.raises(Exception, match="^Unauthorized$"):
            handler.lambda_handler(event(f"Bearer {forged}"), None)

    for _ in range(20):
        junk()
    assert issuer.jwks_requests == before  # fetched just now: junk key ids cause no fetch
    time.sleep(1.1)
    for _ in range(20):
        junk()
    assert issuer.jwks_requests == before + 1  # then one fetch per interval, whatever the count


def test_allow_carries_a_grant_the_agent_accepts(
    authorizer: Any, issuer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth.edge import check_grant

    key = "k" * 40
    monkeypatch.setenv("EDGE_GRANT_KEY", key)
    handler = _load()
    bearer = token(issuer, "sub-alice")
    grant = handler.lambda_handler(event(f"Bearer {bearer}"), None)["context"]["edgeGrant"]
    assert check_grant(grant, [key.encode()], "sub-alice", bearer, time.time())
    again = handler.lambda_handler(event(f"Bearer {bearer}"), None)["context"]["edgeGrant"]
    assert again != grant  # a fresh nonce every time: the agent admits each grant once


def test_the_grant_key_comes_from_secrets_manager(
    authorizer: Any, issuer: Any, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth.edge import check_grant

    name = f"edge-{uuid.uuid4().hex[:8]}"
    boto3.client("secretsmanager").create_secret(Name=name, SecretString="s" * 40)
    monkeypatch.setenv("EDGE_GRANT_SECRET_ID", name)
    bearer = token(issuer, "sub-alice")
    grant = _load().lambda_handler(event(f"Bearer {bearer}"), None)["context"]["edgeGrant"]
    assert check_grant(grant, [b"s" * 40], "sub-alice", bearer, time.time())
    monkeypatch.setenv("EDGE_GRANT_SECRET_ID", f"{name}-missing")
    with pytest.raises(Exception) as failed:  # no key, no Allow: API Gateway answers 500
        _load().lambda_handler(event(f"Bearer {bearer}"), None)
    assert str(failed.value) != "Unauthorized"
