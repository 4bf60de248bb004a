"""SupportService state: bounded per (actor, session), no gateway connection held by a session."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from auth import Identity
from service import SupportService
from settings import AuthSettings, Settings
from tests.support.processes import eventually
from tests.support.stack import MACHINE_CLIENT, SCOPE


def run_turns(service: SupportService, turns: list[tuple[Identity, str, str]]) -> list[str]:
    async def go() -> list[str]:
        texts = []
        for identity, session, prompt in turns:
            texts.append(
                "".join([c async for c in service.stream(prompt, identity, session) if isinstance(c, str)])
            )
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


def test_sessions_hold_no_gateway_connection_and_idle_pool_closes(
    tmp_path: Path, gateway: Any, issuer: Any
) -> None:
    service = SupportService(
        Settings(
            model_provider="offline",
            local_memory_dir=tmp_path,
            session_cache_size=1,
            gateway_url=gateway.url,
            gateway_idle_seconds=0.3,
            auth=AuthSettings(mode="off"),
        )
    )
    token = issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE])
    identity = Identity("sub-carol", token=token)

    async def go() -> tuple[str, list[bool]]:
        before = len(gateway.calls)
        first = [c async for c in service.stream("Check the warranty for PROD-003", identity, "a")]
        assert [c.authorization for c in gateway.calls[before:]] == [f"Bearer {token}"]
        hop = service._hops.get("gateway")
        assert hop is not None
        # The turn's MCP session ends in the background; then, after the idle time, the pool closes.
        observed = [
            await eventually(lambda: hop._active == 0 and not hop._owners),
            hop._transport is not None,
        ]
        observed.append(await eventually(lambda: hop._transport is None, timeout=5.0))
        await service.close()
        return "".join(map(str, first)), observed

    first, observed = asyncio.run(go())
    assert "Laptop Stand" in first
    assert observed == [True, True, True]


def test_anonymous_calls_leave_no_stored_history(tmp_path: Path) -> None:
    service = SupportService(
        Settings(model_provider="offline", local_memory_dir=tmp_path / "mem", auth=AuthSettings(mode="off"))
    )
    texts = run_turns(
        service, [(Identity(""), "s1", "My name is Eve"), (Identity(""), "s1", "What's my name?")]
    )
    assert "Nice to meet you, Eve" in texts[0] and "don't know your name" in texts[1]
    assert not (tmp_path / "mem").exists() or not any((tmp_path / "mem").rglob("*.json"))


def test_close_from_another_loop_ends_gateway_work_on_the_serving_loop(
    tmp_path: Path, gateway: Any, issuer: Any
) -> None:
    """The SDK serves turns on its worker loop; a shutdown hook runs on the server's loop."""
    import threading
    import time

    service = SupportService(
        Settings(
            model_provider="offline",
            local_memory_dir=tmp_path,
            gateway_url=gateway.url,
            gateway_timeout_seconds=5,
            auth=AuthSettings(mode="off"),
        )
    )
    identity = Identity("sub-dave", token=issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE]))
    worker = asyncio.new_event_loop()
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()

    async def turn() -> str:
        return "".join(
            [
                c
                async for c in service.stream("Check the warranty for PROD-003", identity, "a")
                if isinstance(c, str)
            ]
        )

    text = asyncio.run_coroutine_threadsafe(turn(), worker).result(timeout=30)
    assert "Laptop Stand" in text
    hop = service._hops.get("gateway")
    assert hop is not None and hop._transport is not None
    start = time.monotonic()
    asyncio.run(service.close())  # a different loop, in a different thread
    elapsed = time.monotonic() - start
    worker.call_soon_threadsafe(worker.stop)
    thread.join(timeout=5)
    assert hop._transport is None and not hop._owners
    assert elapsed < 5 + 1
