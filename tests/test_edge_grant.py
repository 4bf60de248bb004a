"""Limits that hold on every path: the agent serves customer tokens only with the front door's grant.

The twin (scripts/localdev/frontdoor.py, running the deployed authorizer's code) in front of a real
agent process that requires grants (``EDGE_GRANT_KEYS``); the same customer token sent straight to
the agent is refused, over quota or not; forged, misbound, expired and replayed grants are refused;
the operators' machine client keeps its direct path. Unit tests pin the grant rules themselves.
"""

from __future__ import annotations

import asyncio
import importlib.util
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from auth.edge import EDGE_GRANT_HEADER, EdgeCheck, GrantRefused, KeyRing, NonceLedger, check_grant, grant_mac
from scripts.localdev.frontdoor import Limits, build_frontdoor
from scripts.localdev.serving import BackgroundServer
from settings import AuthSettings
from tests.support.stack import MACHINE_CLIENT, SCOPE, USER_CLIENT, AgentServer, claims

KEY = secrets.token_urlsafe(32)
HANDLER = Path(__file__).resolve().parents[1] / "app" / "FrontDoorAuthorizer" / "handler.py"


def authorizer_code() -> Any:
    """The deployed authorizer's module, loaded from its file (its edge_grant mints grants)."""
    name = f"authorizer_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def customer_token(issuer: Any, sub: str) -> str:
    return str(issuer.sign(claims(issuer, sub=sub, client_id=USER_CLIENT, scope=f"openid {SCOPE}")))


# ------------------------------------------------------------------------------ grant rules (unit)


def test_a_grant_binds_key_user_token_expiry_and_nonce() -> None:
    code = authorizer_code()
    key, now = KEY.encode(), time.time()
    grant = code.edge_grant(key, "sub-a", "token-a", 30)
    nonce, exp = check_grant(grant, [key], "sub-a", "token-a", now)
    assert exp - now == pytest.approx(30, abs=2) and len(nonce) >= 16
    version, exp_text, nonce_text, mac = grant.split(".")
    refused = {
        "other key": ([b"k" * 32], "sub-a", "token-a", now, grant),
        "other user": ([key], "sub-b", "token-a", now, grant),
        "other token of the same user": ([key], "sub-a", "token-b", now, grant),
        "expired": ([key], "sub-a", "token-a", now + 60, grant),
        "exp edited": ([key], "sub-a", "token-a", now, f"{version}.{int(exp_text) + 1}.{nonce_text}.{mac}"),
        "nonce edited": ([key], "sub-a", "token-a", now, f"{version}.{exp_text}.{nonce_text}x.{mac}"),
        "forged mac": ([key], "sub-a", "token-a", now, f"{version}.{exp_text}.{nonce_text}.{'A' * 43}"),
        "junk": ([key], "sub-a", "token-a", now, "not-a-grant"),
        "absurd exp": ([key], "sub-a", "token-a", now, f"{version}.{'9' * 5000}.{nonce_text}.{mac}"),
        "non-ASCII mac": ([key], "sub-a", "token-a", now, f"{version}.{exp_text}.{nonce_text}.é{mac[1:]}"),
    }
    for case, (keys, sub, token, at, presented) in refused.items():
        with pytest.raises(GrantRefused):
            check_grant(presented, keys, sub, token, at)
        assert case  # (the dict keys name each refusal in a failure's locals)


def test_a_grant_dated_too_far_ahead_is_refused_even_with_the_right_key() -> None:
    key, now = KEY.encode(), int(time.time())
    exp = now + 3600
    grant = f"v1.{exp}.nonce123456789012.{grant_mac(key, 'sub-a', 't', exp, 'nonce123456789012')}"
    with pytest.raises(GrantRefused, match="expired"):
        check_grant(grant, [key], "sub-a", "t", now)


def test_rotation_both_keys_verify_during_the_overlap() -> None:
    old, new = b"o" * 32, b"n" * 32
    grant = authorizer_code().edge_grant(old, "sub-a", "t", 30)
    assert check_grant(grant, [new, old], "sub-a", "t", time.time())
    with pytest.raises(GrantRefused):
        check_grant(grant, [new], "sub-a", "t", time.time())


def test_the_ledger_admits_a_nonce_once_and_stays_bounded() -> None:
    async def run() -> None:
        ledger, now = NonceLedger(max_entries=2), time.time()
        assert await ledger.claim("n1", now + 30, now)
        assert not await ledger.claim("n1", now + 30, now)  # replay
        assert await ledger.claim("n2", now + 30, now)
        with pytest.raises(GrantRefused) as full:  # full of live nonces: refuse, never forget one early
            await ledger.claim("n3", now + 30, now)
        assert full.value.status == 503
        assert await ledger.claim("n3", now + 30, now + 60)  # the others expired and were dropped
        assert not await ledger.claim("n3", now + 30, now + 1)

    asyncio.run(run())


def test_exempt_clients_and_an_unconfigured_gate_need_no_grant() -> None:
    async def run() -> None:
        gate = EdgeCheck.from_env({"EDGE_GRANT_KEYS": KEY, "EDGE_EXEMPT_CLIENTS": MACHINE_CLIENT})
        await gate.admit([], {"sub": MACHINE_CLIENT, "client_id": MACHINE_CLIENT}, "t")
        with pytest.raises(GrantRefused, match="front door"):
            await gate.admit([], {"sub": "sub-a", "client_id": USER_CLIENT}, "t")
        with pytest.raises(GrantRefused, match="front door"):  # two grants: refuse rather than pick one
            await gate.admit(["a", "b"], {"sub": "sub-a", "client_id": USER_CLIENT}, "t")
        await EdgeCheck.from_env({}).admit([], {"sub": "sub-a", "client_id": USER_CLIENT}, "t")

    asyncio.run(run())
    with pytest.raises(ValueError, match="at least 32"):
        EdgeCheck.from_env({"EDGE_GRANT_KEYS": "short"})


# ------------------------------------------------------------------------------ the twin and the agent


@pytest.fixture
def guarded_agent(agent_factory: Any) -> AgentServer:
    """A real agent process that requires grants of KEY from customers; the machine client is exempt."""
    server: AgentServer = agent_factory(EDGE_GRANT_KEYS=KEY, EDGE_EXEMPT_CLIENTS=MACHINE_CLIENT)
    return server


@pytest.fixture
def door(issuer: Any, guarded_agent: AgentServer) -> Iterator[str]:
    auth = AuthSettings(
        discovery_url=issuer.discovery_url, allowed_clients=(USER_CLIENT,), allowed_scopes=(SCOPE,)
    )
    limits = Limits(ThrottleRateLimit=100, ThrottleBurstLimit=100, QuotaLimitPerDay=2)
    with BackgroundServer(
        build_frontdoor(guarded_agent.url, "http://127.0.0.1:5173", auth, limits, edge_key=KEY.encode())
    ) as server:
        yield server.url


def through(door: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{door}/invocations", json={"prompt": "hi"}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_over_quota_at_the_front_door_means_refused_on_the_direct_path_too(
    issuer: Any, door: str, guarded_agent: AgentServer
) -> None:
    token = customer_token(issuer, "sub-erin")
    assert [through(door, token).status_code for _ in range(2)] == [200, 200]
    assert "[offline model]" in through_text(door, customer_token(issuer, "sub-frank"))
    over = through(door, token)
    assert (over.status_code, over.json()["message"]) == (429, "Limit Exceeded")
    direct = guarded_agent.invoke({"prompt": "hi"}, token)
    assert (direct.status, direct.errors) == (403, ["Customer requests must come through the front door"])
    # Not only over quota: the direct path is closed to customers whatever their count.
    fresh = guarded_agent.invoke({"prompt": "hi"}, customer_token(issuer, "sub-gina"))
    assert fresh.status == 403


def through_text(door: str, token: str) -> str:
    return through(door, token).text


def test_forged_misbound_and_replayed_grants_are_refused(issuer: Any, guarded_agent: AgentServer) -> None:
    code = authorizer_code()
    token, other = customer_token(issuer, "sub-hana"), customer_token(issuer, "sub-ivan")

    def direct(grant: str, with_token: str = token) -> tuple[int, list[str]]:
        reply = guarded_agent.invoke({"prompt": "hi"}, with_token, headers={EDGE_GRANT_HEADER: grant})
        return reply.status, reply.errors

    genuine = code.edge_grant(KEY.encode(), "sub-hana", token, 30)
    forged = code.edge_grant(secrets.token_urlsafe(32).encode(), "sub-hana", token, 30)
    assert direct(forged) == (403, ["Invalid edge grant"])
    assert direct(genuine, with_token=other) == (403, ["Invalid edge grant"])  # ivan replays hana's
    assert direct(genuine)[0] == 200  # as the front door would send it: served once...
    assert direct(genuine) == (403, ["Edge grant already used"])  # ...and never again
    expired = code.edge_grant(KEY.encode(), "sub-hana", token, -30)
    assert direct(expired) == (403, ["Edge grant expired"])


def test_the_operators_machine_client_keeps_its_direct_path(issuer: Any, guarded_agent: AgentServer) -> None:
    machine = issuer.sign(claims(issuer, sub=MACHINE_CLIENT, client_id=MACHINE_CLIENT))
    reply = guarded_agent.invoke({"prompt": "What is the return policy for audio?"}, machine)
    assert reply.status == 200 and reply.text


def test_a_clients_own_grant_header_never_passes_the_front_door(issuer: Any, door: str) -> None:
    # The door replaces whatever a client sends with its own fresh grant (else a client could
    # replay a grant it somehow learned through the door); the agent serves the door's grant.
    token = customer_token(issuer, "sub-jo")
    sent = httpx.post(
        f"{door}/invocations",
        json={"prompt": "hi"},
        headers={"Authorization": f"Bearer {token}", EDGE_GRANT_HEADER: "v1.1.x.y"},
        timeout=30,
    )
    assert sent.status_code == 200


# ------------------------------------------------------------------------------ keys from Secrets Manager


def test_keys_from_secrets_manager_current_and_previous(aws_env: dict[str, str]) -> None:
    client = boto3.client("secretsmanager")
    name = f"edge-{uuid.uuid4().hex[:8]}"
    first, second = "a" * 40, "b" * 40
    client.create_secret(Name=name, SecretString=first)

    async def keys() -> list[bytes]:
        return await KeyRing(secret_id=name).keys()

    assert asyncio.run(keys()) == [first.encode()]
    client.put_secret_value(SecretId=name, SecretString=second)  # rotation: first becomes AWSPREVIOUS
    assert asyncio.run(keys()) == [second.encode(), first.encode()]


def test_an_unreadable_secret_refuses_customers_with_503(aws_env: dict[str, str]) -> None:
    async def admit() -> None:
        gate = EdgeCheck.from_env({"EDGE_GRANT_SECRET_ID": f"missing-{uuid.uuid4().hex}"})
        await gate.admit(["v1.1.n.m"], {"sub": "sub-a", "client_id": USER_CLIENT}, "t")

    with pytest.raises(GrantRefused) as refused:
        asyncio.run(admit())
    assert refused.value.status == 503


# ------------------------------------------------------------------------------ every path: config


def test_the_runtime_forwards_the_grant_header_to_the_agent() -> None:
    import json

    spec = json.loads((Path(__file__).resolve().parents[1] / "agentcore" / "agentcore.json").read_text())
    (runtime,) = spec["runtimes"]
    assert EDGE_GRANT_HEADER in runtime["requestHeaderAllowlist"]  # else AgentCore drops it


@pytest.mark.parametrize(
    ("endpoint", "accepted"),
    [
        ("https://d111111abcdef8.cloudfront.net/invocations", True),  # the deployed front door
        ("https://chat.example.com/invocations", True),  # the chat hosted elsewhere, behind a front door
        ("", True),  # none yet
        (
            "https://bedrock-agentcore.us-east-1.amazonaws.com/runtimes/arn%3A.../invocations?qualifier=DEFAULT",
            False,
        ),
        ("https://BEDROCK-AGENTCORE.eu-west-1.amazonaws.com:443/runtimes/x/invocations", False),
    ],
)
def test_the_web_chat_is_never_pointed_at_the_bare_runtime(endpoint: str, accepted: bool) -> None:
    from scripts.deploy.webchat_config import web_config

    args = (
        "https://idp.example/.well-known/openid-configuration",
        "client",
        "https://auth.example",
        endpoint,
    )
    if accepted:
        assert web_config(*args)["endpoint"] == endpoint
    else:
        with pytest.raises(ValueError, match="front door's /invocations URL"):
            web_config(*args)


# ------------------------------------------------------------------------------ a ledger shared by microVMs


def test_a_dynamodb_ledger_refuses_a_replay_in_another_process(aws_env: dict[str, str]) -> None:
    from auth.edge import DynamoNonceLedger

    table = f"edge-nonces-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "nonce", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "nonce", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    async def run() -> None:
        now = time.time()
        one, other = DynamoNonceLedger(table), DynamoNonceLedger(table)  # two sessions' microVMs
        assert await one.claim("n-1", now + 30, now)
        assert not await other.claim("n-1", now + 30, now)  # replayed under another session
        assert not await one.claim("n-1", now + 30, now)
        assert await other.claim("n-2", now + 30, now)
        with pytest.raises(GrantRefused) as down:  # no table: fail closed with a 503
            await DynamoNonceLedger(f"{table}-missing").claim("n-3", now + 30, now)
        assert down.value.status == 503

    asyncio.run(run())
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"nonce": {"S": "n-1"}})["Item"]
    assert int(item["expires"]["N"]) > time.time()  # the TTL attribute lets DynamoDB drop it later
    assert isinstance(EdgeCheck.from_env({"EDGE_NONCE_TABLE": table}).ledger, DynamoNonceLedger)
