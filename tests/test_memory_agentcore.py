"""With MEMORY_CUSTOMERSUPPORTMEMORY_ID set, AgentCore Memory is keyed by the verified token's `sub`.

AgentCore Memory cannot run here, so botocore is stubbed at the API boundary: every call the
session manager makes is recorded with its parameters and answered with a canned response.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.support.stack import USER_CLIENT, InProcessAgent, auth_env

MEMORY_ID = "customersupport_CustomerSupportMemory-EXAMPLE1234"
LEGACY_PROBES = {"session_session-memory-1", "agent_customer_support"}


class RecordedMemoryApi:
    """Records (operation, params) of every AgentCore call and returns empty-but-valid answers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.on_loop: list[str] = []  # operations made on a thread running an event loop
        self.timeouts: set[tuple[float, float]] = set()  # (connect, read) of the clients that called
        self.slow_actor: str | None = None  # this actor's message writes stall (a hung backend)
        self.records: list[tuple[str, str]] = []  # (namespace, text) of the stored long-term records
        self.stalled = threading.Event()
        self.unstall = threading.Event()

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self.on_loop.append(model.name)

    def respond(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body: dict[str, Any] = {"ResponseMetadata": {"HTTPStatusCode": 200}}
        now = datetime.datetime.now(datetime.timezone.utc)
        if model.name == "CreateEvent":
            args = self.calls[-1][1]
            if args["actorId"] == self.slow_actor and "Return policy" in str(args.get("payload")):
                self.stalled.set()
                self.unstall.wait(timeout=30)
            body["event"] = {
                "memoryId": args["memoryId"],
                "actorId": args["actorId"],
                "sessionId": args["sessionId"],
                "eventId": f"event-{len(self.calls)}",
                "eventTimestamp": now,
                "payload": args.get("payload", []),
                "branch": {"name": "main"},
            }
        elif model.name == "ListEvents":
            body["events"] = []
        elif model.name == "RetrieveMemoryRecords":
            # As AgentCore does: namespacePath is a hierarchical prefix of the records' namespaces.
            prefix = json.loads(params.get("body") or b"{}").get("namespacePath", "\0")
            body["memoryRecordSummaries"] = [
                {"content": {"text": text}, "score": 0.9, "namespaces": [namespace]}
                for namespace, text in self.records
                if namespace.startswith(prefix)
            ]
        elif model.name == "ListSessions":
            body["sessionSummaries"] = []
        return AWSResponse("https://stub.invalid", 200, {}, None), body


@pytest.fixture
def memory_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedMemoryApi]:
    api = RecordedMemoryApi()
    original = boto3.session.Session.client

    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)
        if made.meta.service_model.service_name.startswith("bedrock-agentcore"):
            timeouts = (made.meta.config.connect_timeout, made.meta.config.read_timeout)

            def record(**kwargs: Any) -> None:
                api.timeouts.add(timeouts)
                api.record(**kwargs)

            made.meta.events.register("before-parameter-build.*.*", record)
            made.meta.events.register("before-call.*.*", api.respond)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    yield api


def test_agentcore_memory_is_keyed_by_token_sub_and_session_header(
    memory_api: RecordedMemoryApi, issuer: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    agent = InProcessAgent(
        monkeypatch,
        {
            **auth_env(issuer),
            "MEMORY_CUSTOMERSUPPORTMEMORY_ID": MEMORY_ID,
            "LOCAL_MEMORY_DIR": str(tmp_path / "unused"),
        },
    )
    try:
        import httpx

        def ask(user: str, session: str, prompt: str) -> httpx.Response:
            token = issuer.user_tokens(issuer.user(user), USER_CLIENT)["access"]
            return httpx.post(
                f"{agent.url}/invocations",
                json={"prompt": prompt, "actor_id": "sub-bob"},
                headers={
                    "Authorization": f"Bearer {token}",
                    "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": session,
                },
                timeout=30,
            )

        reply = ask("alice", "session-memory-1", "My name is Alice")
        assert reply.status_code == 200 and "Nice to meet you, Alice" in reply.text
        alice_calls = list(memory_api.calls)
        ask("bob", "session-memory-1", "Do you remember my name?")
        bob_calls = memory_api.calls[len(alice_calls) :]
    finally:
        agent.server.stop()

    def keyed(calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
        return [(op, params) for op, params in calls if "actorId" in params or "namespacePath" in params]

    assert {op for op, _ in alice_calls} >= {"CreateEvent", "ListEvents", "RetrieveMemoryRecords"}
    namespaces = {params["namespacePath"] for op, params in alice_calls if op == "RetrieveMemoryRecords"}
    assert namespaces == {
        "/users/sub-alice/facts",
        "/users/sub-alice/preferences",
        "/summaries/sub-alice/",  # every session of the caller, this one included
    }
    for calls, sub in ((alice_calls, "sub-alice"), (bob_calls, "sub-bob")):
        assert keyed(calls), "no actor-keyed memory call was made"
        for operation, params in keyed(calls):
            assert params.get("memoryId") == MEMORY_ID, operation
            if "actorId" in params and params["actorId"] != sub:
                # The SDK's one-time migration probe for pre-1.x events (read only, not per user).
                assert operation == "ListEvents", (operation, params["actorId"])
                assert params["actorId"] in LEGACY_PROBES, params["actorId"]
            if "sessionId" in params:
                assert params["sessionId"] == "session-memory-1", operation
            if "namespacePath" in params:
                assert params["namespacePath"].startswith((f"/users/{sub}/", f"/summaries/{sub}/")), params
    writes = [params for op, params in memory_api.calls if op == "CreateEvent"]
    assert writes and {params["actorId"] for params in writes} == {"sub-alice", "sub-bob"}
    created = [params for op, params in alice_calls if op == "CreateEvent"]
    assert any("My name is Alice" in str(params.get("payload")) for params in created)
    # Every Memory call ran off the event loops (async_mode + the agent-build executor), bounded.
    assert memory_api.on_loop == []
    assert memory_api.timeouts == {(10, 10)}


def test_a_hung_memory_backend_never_holds_up_other_users_or_ping(
    memory_api: RecordedMemoryApi, issuer: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import httpx

    agent = InProcessAgent(
        monkeypatch,
        {**auth_env(issuer), "MEMORY_CUSTOMERSUPPORTMEMORY_ID": MEMORY_ID, "LOCAL_MEMORY_DIR": str(tmp_path)},
    )

    def ask(user: str, session: str) -> httpx.Response:
        token = issuer.user_tokens(issuer.user(user), USER_CLIENT)["access"]
        headers = {"Authorization": f"Bearer {token}", "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": session}
        return httpx.post(
            f"{agent.url}/invocations",
            json={"prompt": "Return policy for accessories?"},
            headers=headers,
            timeout=60,
        )

    memory_api.slow_actor = "sub-alice"
    try:
        with ThreadPoolExecutor(1) as pool:
            alice = pool.submit(ask, "alice", "session-stuck")
            assert memory_api.stalled.wait(timeout=30), "alice's memory write never started"
            # While alice's write hangs: bob's turns (new sessions, memory included) and /ping answer.
            for n in range(3):
                reply = ask("bob", f"session-bob-{n}")
                assert reply.status_code == 200 and "14 days" in reply.text
                assert httpx.get(f"{agent.url}/ping", timeout=5).json()["status"] == "Healthy"
            assert not alice.done()
            memory_api.unstall.set()
            assert "14 days" in alice.result(timeout=30).text
    finally:
        memory_api.unstall.set()
        agent.server.stop()


def test_summaries_of_earlier_sessions_are_recalled_for_their_own_customer_only(
    memory_api: RecordedMemoryApi, issuer: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import httpx

    memory_api.records = [
        ("/summaries/sub-alice/session-old", "Alice asked whether her Smart Watch is under warranty."),
        ("/summaries/sub-bob/session-b", "Bob returned his headphones."),
        ("/summaries/sub-alice-2/session-x", "Someone else whose id starts like Alice's."),
    ]
    agent = InProcessAgent(
        monkeypatch,
        {**auth_env(issuer), "MEMORY_CUSTOMERSUPPORTMEMORY_ID": MEMORY_ID, "LOCAL_MEMORY_DIR": str(tmp_path)},
    )

    def ask(user: str, session: str) -> str:
        token = issuer.user_tokens(issuer.user(user), USER_CLIENT)["access"]
        headers = {"Authorization": f"Bearer {token}", "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": session}
        reply = httpx.post(
            f"{agent.url}/invocations",
            json={"prompt": "What did we talk about last time?"},
            headers=headers,
            timeout=30,
        )
        assert reply.status_code == 200
        return reply.text

    try:
        alice, bob = ask("alice", "session-new-a"), ask("bob", "session-new-b")
    finally:
        agent.server.stop()
    assert "Smart Watch" in alice and "headphones" not in alice and "Someone else" not in alice
    assert "headphones" in bob and "Smart Watch" not in bob and "Someone else" not in bob
    reads = [(p["namespacePath"]) for op, p in memory_api.calls if op == "RetrieveMemoryRecords"]
    assert "/summaries/sub-alice/" in reads and "/summaries/sub-bob/" in reads
    for path in reads:  # every namespace read is a prefix of the caller's own, ending at its id
        assert path in {f"/users/{s}/facts" for s in ("sub-alice", "sub-bob")} | {
            f"/users/{s}/preferences" for s in ("sub-alice", "sub-bob")
        } | {"/summaries/sub-alice/", "/summaries/sub-bob/"}, path
