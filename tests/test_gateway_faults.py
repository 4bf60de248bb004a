"""Fault injection on the gateway hop, over real HTTP with real tokens and real MCP.

The agent runs as `agentcore dev` runs it (uvicorn in its own process); the gateway is the real
local gateway behind a layer that hangs, rejects or answers garbage on purpose. Every warranty turn
must end within GATEWAY_TIMEOUT_SECONDS + 1 s, say the service is unavailable, and leave the agent
healthy; after the gateway recovers, the next turn works; a hung gateway never holds up other
users' local-tool turns or /ping.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from scripts.localdev.gateway import build_gateway
from scripts.localdev.serving import BackgroundServer
from tests.support.faulty_mcp import BlackHole, FaultyGateway
from tests.support.processes import free_port
from tests.support.stack import USER_CLIENT, auth_env

TIMEOUT = 2.0
UNAVAILABLE = "warranty service is unavailable"
WARRANTY = {"prompt": "Check the warranty for PROD-001"}
LOCAL = {"prompt": "What's the return policy for accessories?"}


def token(issuer: Any, user: str = "alice") -> str:
    return issuer.user_tokens(issuer.user(user), USER_CLIENT)["access"]


def session() -> str:
    return f"s-{uuid.uuid4()}"


@pytest.fixture
def faulty(issuer: Any) -> Iterator[tuple[FaultyGateway, BackgroundServer]]:
    """The real local gateway behind a fault-injecting layer, on a free port."""
    layer = FaultyGateway(build_gateway(auth_env(issuer)).app)
    server = BackgroundServer(layer).start()
    yield layer, server
    layer.release()
    server.stop()


def timed(agent: Any, body: dict[str, str], bearer: str, sid: str | None = None) -> tuple[Any, float]:
    start = time.monotonic()
    reply = agent.invoke(body, bearer, sid)
    return reply, time.monotonic() - start


def assert_healthy(agent: Any, bearer: str) -> None:
    assert httpx.get(f"{agent.url}/ping", timeout=5).json()["status"] == "Healthy"
    local = agent.invoke(LOCAL, bearer)
    assert local.status == 200 and "14 days" in local.text


@pytest.mark.parametrize(
    "faults",
    [
        {"server/discover": "hang"},
        {"initialize": "hang", "server/discover": "unknown-method"},  # a handshake-era gateway
        {"tools/list": "hang"},
        {"tools/call": "hang"},
        {"*": "401"},
        {"*": "500"},
        {"*": "garbage"},
        {"tools/call": "500"},
        {"tools/call": "garbage"},
    ],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()),
)
def test_a_misbehaving_gateway_costs_at_most_the_timeout(
    agent_factory: Any, issuer: Any, faulty: tuple[FaultyGateway, BackgroundServer], faults: dict[str, str]
) -> None:
    layer, server = faulty
    agent = agent_factory(
        AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=f"{server.url}/mcp", GATEWAY_TIMEOUT_SECONDS=str(TIMEOUT)
    )
    warm = agent.invoke(WARRANTY, token(issuer, "bob"))  # first-turn imports are not the peer's fault
    assert "Wireless Headphones" in warm.text
    layer.faults = faults
    bearer = token(issuer)  # a new token: its session must connect, initialize and list again
    reply, elapsed = timed(agent, WARRANTY, bearer)
    assert reply.status == 200 and not reply.errors
    assert UNAVAILABLE in reply.text
    assert elapsed < TIMEOUT + 1, f"turn took {elapsed:.1f}s"
    fault_method = next(iter(faults))
    assert fault_method == "*" or layer.methods[fault_method] >= 1  # the fault was really hit
    assert_healthy(agent, bearer)


def test_a_peer_hung_at_connect_costs_at_most_the_timeout(agent_factory: Any, issuer: Any) -> None:
    with BlackHole() as hole:
        agent = agent_factory(
            AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=hole.url,
            GATEWAY_TIMEOUT_SECONDS=str(TIMEOUT),
            GATEWAY_RETRY_SECONDS="0.1",
        )
        bearer = token(issuer)
        agent.invoke(WARRANTY, token(issuer, "bob"))  # warm-up (imports); also hits the black hole
        time.sleep(0.2)
        reply, elapsed = timed(agent, WARRANTY, bearer)
        assert reply.status == 200 and UNAVAILABLE in reply.text
        assert elapsed < TIMEOUT + 1, f"turn took {elapsed:.1f}s"
        assert_healthy(agent, bearer)


def test_a_gateway_that_is_down_costs_at_most_the_timeout(agent_factory: Any, issuer: Any) -> None:
    agent = agent_factory(
        AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=f"http://127.0.0.1:{free_port()}/mcp",
        GATEWAY_TIMEOUT_SECONDS=str(TIMEOUT),
        GATEWAY_RETRY_SECONDS="0.1",
    )
    bearer = token(issuer)
    agent.invoke(WARRANTY, token(issuer, "bob"))  # warm-up (imports)
    time.sleep(0.2)
    reply, elapsed = timed(agent, WARRANTY, bearer)
    assert reply.status == 200 and UNAVAILABLE in reply.text
    assert elapsed < TIMEOUT + 1
    assert_healthy(agent, bearer)


def test_a_stuck_close_never_holds_the_answer(
    agent_factory: Any, issuer: Any, faulty: tuple[FaultyGateway, BackgroundServer]
) -> None:
    layer, server = faulty
    layer.session_ids = True
    layer.faults = {"DELETE": "hang"}  # ending the MCP session never completes
    agent = agent_factory(
        AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=f"{server.url}/mcp",
        GATEWAY_TIMEOUT_SECONDS=str(TIMEOUT),
        GATEWAY_SESSION_CACHE_SIZE="1",  # sessions live across turns: each new token retires the last
    )
    agent.invoke(WARRANTY, token(issuer, "bob"))  # warm-up (first-turn imports)
    bearer, sid = token(issuer), session()
    for _ in range(3):  # a close that blocked would add the whole timeout to a turn
        reply, elapsed = timed(agent, WARRANTY, bearer, sid)
        assert "Wireless Headphones" in reply.text and UNAVAILABLE not in reply.text
        assert elapsed < TIMEOUT, f"turn took {elapsed:.1f}s"
    assert layer.methods["DELETE"] >= 1, dict(layer.methods)


def test_every_session_recovers_after_the_gateway_comes_back(
    agent_factory: Any, issuer: Any, faulty: tuple[FaultyGateway, BackgroundServer]
) -> None:
    layer, server = faulty
    agent = agent_factory(
        AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=f"{server.url}/mcp",
        GATEWAY_TIMEOUT_SECONDS=str(TIMEOUT),
        GATEWAY_RETRY_SECONDS="1",
    )
    alice, bob = token(issuer, "alice"), token(issuer, "bob")
    sessions = {alice: session(), bob: session()}
    for bearer, sid in sessions.items():  # both sessions work and hold a cached tool listing
        assert "Wireless Headphones" in agent.invoke(WARRANTY, bearer, sid).text

    port = server.port
    server.stop()  # down
    for bearer, sid in sessions.items():
        reply, elapsed = timed(agent, WARRANTY, bearer, sid)
        assert UNAVAILABLE in reply.text and elapsed < TIMEOUT + 1

    layer.inner = build_gateway(auth_env(issuer)).app  # a fresh gateway process, as after a restart
    with BackgroundServer(layer, port=port):  # up again on the same address
        time.sleep(1.1)  # the back-off after the outage (GATEWAY_RETRY_SECONDS)
        for bearer, sid in sessions.items():
            reply = agent.invoke(WARRANTY, bearer, sid)
            assert "Wireless Headphones" in reply.text and UNAVAILABLE not in reply.text

        # A hang, then recovery, in the same session.
        layer.faults = {"tools/call": "hang"}
        reply, elapsed = timed(agent, WARRANTY, alice, sessions[alice])
        assert UNAVAILABLE in reply.text and elapsed < TIMEOUT + 1
        layer.faults = {}
        time.sleep(1.1)
        assert "Wireless Headphones" in agent.invoke(WARRANTY, alice, sessions[alice]).text
        layer.release()


def test_retries_during_an_outage_are_rate_limited(
    agent_factory: Any, issuer: Any, faulty: tuple[FaultyGateway, BackgroundServer]
) -> None:
    layer, server = faulty
    layer.faults = {"*": "500"}
    agent = agent_factory(
        AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=f"{server.url}/mcp",
        GATEWAY_TIMEOUT_SECONDS=str(TIMEOUT),
        GATEWAY_RETRY_SECONDS="60",
    )
    for _ in range(10):
        assert UNAVAILABLE in agent.invoke(WARRANTY, token(issuer), session()).text
    assert layer.http_requests == 1  # one attempt, then the back-off answers without calling


def test_hung_warranty_turns_never_hold_up_other_users_or_ping(
    agent_factory: Any, issuer: Any, faulty: tuple[FaultyGateway, BackgroundServer]
) -> None:
    layer, server = faulty
    layer.faults = {"tools/call": "hang"}
    hung_turns = 40
    agent = agent_factory(
        AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=f"{server.url}/mcp", GATEWAY_TIMEOUT_SECONDS="20"
    )
    bearers = [token(issuer, "alice") for _ in range(hung_turns)]
    bob = token(issuer, "bob")
    with ThreadPoolExecutor(max_workers=hung_turns) as pool:
        hung = [pool.submit(agent.invoke, WARRANTY, bearer, session()) for bearer in bearers]
        deadline = time.monotonic() + 15
        while layer.hanging < hung_turns and time.monotonic() < deadline:
            time.sleep(0.05)
        assert layer.hanging == hung_turns, "the warranty turns did not all reach the gateway"

        # While they hang: other users' local-tool turns (new sessions too) and /ping answer.
        answered = []
        for _ in range(5):
            assert httpx.get(f"{agent.url}/ping", timeout=5).json()["status"] == "Healthy"
            local = agent.invoke(LOCAL, bob, session())
            assert local.status == 200 and "14 days" in local.text
            answered.append(layer.hanging)
        assert answered == [hung_turns] * 5  # every answer came while all 40 calls were hung
        assert not any(f.done() for f in hung)

        started = time.monotonic()
        layer.release()  # the peer lets go: every hung turn ends now, not at its timeout
        replies = [f.result(timeout=30) for f in hung]
        assert time.monotonic() - started < 10
    assert all(r.status == 200 and UNAVAILABLE in r.text for r in replies)


def test_answers_in_flight_are_capped_and_ping_still_answers(
    agent_factory: Any, issuer: Any, faulty: tuple[FaultyGateway, BackgroundServer]
) -> None:
    layer, server = faulty
    layer.faults = {"tools/call": "hang"}
    agent = agent_factory(
        AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=f"{server.url}/mcp",
        GATEWAY_TIMEOUT_SECONDS="20",
        MAX_CONCURRENT_INVOCATIONS="2",
    )
    bearer = token(issuer)
    with ThreadPoolExecutor(max_workers=2) as pool:
        hung = [pool.submit(agent.invoke, WARRANTY, bearer, session()) for _ in range(2)]
        deadline = time.monotonic() + 15
        while layer.hanging < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert layer.hanging == 2
        busy = agent.invoke(LOCAL, bearer, session())
        assert busy.status == 503 and busy.errors == ["The agent is busy; try again shortly"]
        assert busy.headers["retry-after"] == "1"
        assert httpx.get(f"{agent.url}/ping", timeout=5).json()["status"] == "Healthy"
        layer.release()
        assert all(UNAVAILABLE in f.result(timeout=30).text for f in hung)
    assert "14 days" in agent.invoke(LOCAL, bearer, session()).text  # capacity is given back
