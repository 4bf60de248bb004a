"""Gateway MCP sessions cost what they must: one per token, reused, bounded, ended at expiry.

The agent's hop client (and, for the request counts, the whole SupportService with the offline
model) talks to the real local gateway (JWT-checked MCP over streamable HTTP) behind
tests/support/faulty_mcp.py's layer, which counts every HTTP request and JSON-RPC method.
Tokens are real ones from the local issuer.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth import Identity
from mcp_client.client import McpHop
from mcp_client.errors import HopError
from scripts.localdev.gateway import build_gateway
from scripts.localdev.serving import BackgroundServer
from service import SupportService
from settings import AuthSettings, Settings
from tests.support.faulty_mcp import FaultyGateway
from tests.support.processes import eventually
from tests.support.stack import MACHINE_CLIENT, SCOPE, auth_env

TOOL = "WarrantyCheck___check_warranty"
WARRANTY = "Check the warranty for PROD-001"


@pytest.fixture
def counted(issuer: Any) -> Iterator[tuple[FaultyGateway, str]]:
    layer = FaultyGateway(build_gateway(auth_env(issuer)).app)
    with BackgroundServer(layer) as server:
        yield layer, f"{server.url}/mcp"
    layer.release()


def token(issuer: Any, lifetime: int | None = None) -> str:
    return str(issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE], lifetime=lifetime))


def hop(url: str, **overrides: Any) -> McpHop:
    return McpHop(Settings(gateway_url=url, **overrides).hops()[0])


def test_a_steady_turn_makes_one_request_and_a_new_token_at_most_three(
    issuer: Any, counted: tuple[FaultyGateway, str], tmp_path: Path
) -> None:
    layer, url = counted
    service = SupportService(
        Settings(
            model_provider="offline",
            local_memory_dir=tmp_path,
            gateway_url=url,
            auth=AuthSettings(mode="off"),
        )
    )
    steady = Identity("sub-steady", token=token(issuer))

    async def turn(identity: Identity, session: str) -> Counter[str]:
        before = Counter(layer.methods)
        text = "".join([str(c) async for c in service.stream(WARRANTY, identity, session)])
        assert "Wireless Headphones" in text, text
        return Counter(layer.methods) - before

    async def go() -> list[Counter[str]]:
        seen = [await turn(steady, "s-1")]  # a never-seen token
        seen += [await turn(steady, "s-1") for _ in range(3)]  # steady turns
        seen.append(await turn(steady, "s-2"))  # a new session of a known token
        seen.append(await turn(Identity("sub-steady", token=token(issuer)), "s-1"))  # a refreshed token
        await service.close()
        return seen

    first, *steady_turns, new_session, refreshed = asyncio.run(go())
    assert first == Counter({"server/discover": 1, "tools/list": 1, "tools/call": 1})
    assert steady_turns == [Counter({"tools/call": 1})] * 3
    assert new_session == Counter({"tools/call": 1})
    assert sum(refreshed.values()) <= 3 and refreshed["tools/call"] == 1


def test_one_session_per_token_and_never_another_tokens(
    issuer: Any, counted: tuple[FaultyGateway, str]
) -> None:
    _, url = counted
    a, b = token(issuer), token(issuer)
    assert a != b

    async def go() -> tuple[int, int, bool]:
        client = hop(url)
        sessions = []
        for bearer in (a, b, a, b):
            turn = client.turn(bearer, "sub")
            await turn.call_tool("t", TOOL, {"product_id": "PROD-001"})
            assert turn._session is not None
            sessions.append(turn._session)
            turn.close()
        distinct = len({id(s) for s in sessions})
        reused = sessions[0] is sessions[2] and sessions[1] is sessions[3]
        pooled = len(client._sessions)
        await client.aclose()
        return distinct, pooled, reused

    assert asyncio.run(go()) == (2, 2, True)


def test_a_session_ends_at_its_tokens_expiry(issuer: Any, counted: tuple[FaultyGateway, str]) -> None:
    _, url = counted

    async def go() -> tuple[bool, bool, bool]:
        client = hop(url)
        expires_at = time.time() + 6.0  # sessions end 5 s before exp: this one lives about 1 s
        turn = client.turn(token(issuer, lifetime=60), "sub", expires_at)
        await turn.call_tool("t", TOOL, {"product_id": "PROD-001"})
        session = turn._session
        turn.close()
        assert session is not None
        open_after_turn = session.key in client._sessions
        ended = await eventually(
            lambda: session.key not in client._sessions and not client._owners, timeout=4
        )
        await client.aclose()
        return open_after_turn, ended, session.expired

    assert asyncio.run(go()) == (True, True, True)


def test_the_pool_is_a_bounded_lru_that_never_evicts_a_session_in_use(
    issuer: Any, counted: tuple[FaultyGateway, str]
) -> None:
    _, url = counted
    tokens = [token(issuer) for _ in range(3)]

    async def go() -> tuple[int, bool, bool, int]:
        client = hop(url, gateway_session_cache_size=2)
        for bearer in tokens:  # one after the other: the least recently used is retired
            turn = client.turn(bearer, "sub")
            await turn.call_tool("t", TOOL, {"product_id": "PROD-001"})
            turn.close()
        size = len(client._sessions)
        turns = [client.turn(t, "sub") for t in tokens]  # all three in use at once
        for turn in turns:
            await turn.call_tool("t", TOOL, {"product_id": "PROD-002"})
        in_use = [t._session for t in turns]
        unpooled = [s for s in in_use if s is not None and not s.pooled]
        kept_in_use = all(s is not None and (s.pooled or s.leases == 1) for s in in_use)
        for turn in turns:
            turn.close()
        one_shot_closed = await eventually(lambda: len(client._owners) == len(client._sessions), timeout=4)
        bound = len(client._sessions)
        await client.aclose()
        return size, len(unpooled) == 1 and kept_in_use, one_shot_closed, bound

    assert asyncio.run(go()) == (2, True, True, 2)


def test_a_failed_request_retires_the_session(issuer: Any, counted: tuple[FaultyGateway, str]) -> None:
    layer, url = counted
    bearer = token(issuer)

    async def go() -> tuple[bool, Counter[str]]:
        client = hop(url, gateway_retry_seconds=0)
        first = client.turn(bearer, "sub")
        await first.call_tool("t", TOOL, {"product_id": "PROD-001"})
        first.close()
        layer.faults = {"tools/call": "garbage"}
        failing = client.turn(bearer, "sub")
        with pytest.raises(HopError):
            await failing.call_tool("t", TOOL, {"product_id": "PROD-001"})
        failing.close()
        retired = not client._sessions
        layer.faults = {}
        before = Counter(layer.methods)
        again = client.turn(bearer, "sub")
        await again.call_tool("t", TOOL, {"product_id": "PROD-001"})
        again.close()
        await client.aclose()
        return retired, Counter(layer.methods) - before

    retired, reopened = asyncio.run(go())
    assert retired and reopened["server/discover"] == 1 and reopened["tools/call"] == 1


def test_a_handshake_era_gateway_gets_initialize_and_no_more_probes(
    issuer: Any, counted: tuple[FaultyGateway, str]
) -> None:
    layer, url = counted
    layer.faults = {"server/discover": "unknown-method"}  # answers as a pre-2026-07-28 server

    async def go() -> list[Counter[str]]:
        client = hop(url)
        seen = []
        for bearer in (token(issuer), token(issuer)):
            before = Counter(layer.methods)
            turn = client.turn(bearer, "sub")
            await turn.tools()
            await turn.call_tool("t", TOOL, {"product_id": "PROD-001"})
            turn.close()
            seen.append(Counter(layer.methods) - before)
        await client.aclose()
        return seen

    first, second = asyncio.run(go())
    handshake = {"initialize": 1, "notifications/initialized": 1, "tools/list": 1, "tools/call": 1}
    assert first == Counter({"server/discover": 1, **handshake})
    assert second == Counter(handshake)


@pytest.mark.integration
def test_a_session_keeps_no_cookie_across_turns_or_callers() -> None:
    """A no-credential hop's one session serves every caller: what a server sets must not stick."""
    from tests.support.account_mcp import AccountMcp

    server = AccountMcp()  # sets a cookie on every answer and records every Cookie header
    with BackgroundServer(server.app) as background:

        async def go() -> None:
            client = McpHop(Settings(web_search_url=f"{background.url}/mcp").hops()[1])
            for _ in range(3):  # three turns of (as far as this hop knows) anyone
                turn = client.turn(None)
                await turn.call_tool("t", TOOL, {"product_id": "PROD-001"})
                turn.close()
            await client.aclose()

        asyncio.run(go())
    assert len(server.cookies) >= 3 and server.cookies == [""] * len(server.cookies)
