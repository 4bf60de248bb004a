"""SupportService state: bounded per (actor, session), gateway clients closed on eviction."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from auth import Identity
from service import SupportService
from settings import AuthSettings, Settings
from tests.conftest import MACHINE_CLIENT, SCOPE


def run_turns(service: SupportService, turns: list[tuple[Identity, str, str]]) -> list[str]:
    async def go() -> list[str]:
        texts = []
        for identity, session, prompt in turns:
            texts.append(
                "".join([c async for c in service.stream(prompt, identity, session) if isinstance(c, str)])
            )
        await asyncio.sleep(0.2)  # let eviction tasks finish
        await service.close()
        return texts

    return asyncio.run(go())


def test_sessions_are_an_lru_keyed_by_actor_and_session(tmp_path: Path) -> None:
    service = SupportService(
        Settings(
            model_provider="offline",
            local_memory_dir=tmp_path,
            session_cache_size=2,
            auth=AuthSettings(mode="off"),
        )
    )
    alice, bob = Identity("sub-alice"), Identity("sub-bob")
    keys_seen: list[list[tuple[str, str]]] = []
    original = service._entry

    def spy(actor: str, session: str) -> Any:
        entry = original(actor, session)
        keys_seen.append(list(service._sessions))
        return entry

    service._entry = spy  # type: ignore[method-assign]
    run_turns(service, [(alice, "s1", "hi"), (bob, "s1", "hi"), (alice, "s2", "hi"), (bob, "s1", "hi")])
    assert keys_seen[1] == [("sub-alice", "s1"), ("sub-bob", "s1")]
    assert keys_seen[2] == [("sub-bob", "s1"), ("sub-alice", "s2")]  # oldest evicted, bound kept
    assert keys_seen[3] == [("sub-alice", "s2"), ("sub-bob", "s1")]  # use refreshes recency


def test_evicted_sessions_close_their_gateway_client(tmp_path: Path, gateway: Any, issuer: Any) -> None:
    service = SupportService(
        Settings(
            model_provider="offline",
            local_memory_dir=tmp_path,
            session_cache_size=1,
            gateway_url=gateway.url,
            auth=AuthSettings(mode="off"),
        )
    )
    token = issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE])
    identity = Identity("sub-carol", token=token)
    closed: list[str] = []

    async def go() -> list[str]:
        first = [c async for c in service.stream("Check the warranty for PROD-003", identity, "a")]
        entry = service._sessions[("sub-carol", "a")]
        connection = entry.gateway
        assert connection is not None
        original_close = connection.close

        def close() -> None:
            closed.append("a")
            original_close()

        connection.close = close  # type: ignore[method-assign]
        second = [c async for c in service.stream("hello", identity, "b")]
        await asyncio.sleep(0.5)
        assert list(service._sessions) == [("sub-carol", "b")]
        await service.close()
        return ["".join(map(str, first)), "".join(map(str, second))]

    first, _ = asyncio.run(go())
    assert "Laptop Stand" in first
    assert closed == ["a"]


def test_anonymous_calls_leave_no_stored_history(tmp_path: Path) -> None:
    service = SupportService(
        Settings(model_provider="offline", local_memory_dir=tmp_path / "mem", auth=AuthSettings(mode="off"))
    )
    texts = run_turns(
        service, [(Identity(""), "s1", "My name is Eve"), (Identity(""), "s1", "What's my name?")]
    )
    assert "Nice to meet you, Eve" in texts[0] and "don't know your name" in texts[1]
    assert not (tmp_path / "mem").exists() or not any((tmp_path / "mem").rglob("*.json"))
