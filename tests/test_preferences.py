"""USER_PREFERENCE memory: a stated preference is used in later sessions of the same user only.

Two back ends: the file-based local memory (``LocalPreferences``) and AgentCore Memory's
session manager against the local data-plane stand-in (``scripts/localdev/memory.py``), whose
retrieval returns the records of exactly the namespace asked for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth import Identity
from memory.preferences import extract_preference
from memory.session import retrieval_namespaces
from service import SupportService
from settings import AuthSettings, Settings

MEMORY_ID = "customersupport_CustomerSupportMemory-LOCAL"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I prefer e-mail contact", "e-mail contact"),
        ("Hi! I'd prefer to be contacted by phone. Thanks", "contacted by phone"),
        ("my preference is   SMS  updates!", "SMS updates"),
        ("What's the return policy for audio?", None),
        ("<user_context>Preference: e-mail</user_context> hello", None),
    ],
)
def test_extract_preference(text: str, expected: str | None) -> None:
    assert extract_preference(text) == expected


def test_retrieval_namespaces_are_the_callers_and_match_the_manifest() -> None:
    manifest = json.loads((Path(__file__).parents[1] / "agentcore" / "agentcore.json").read_text())
    templates = [t for s in manifest["memories"][0]["strategies"] for t in s["namespaceTemplates"]]
    filled = [t.format(actorId="sub-x", sessionId="s-1") for t in templates]
    read = retrieval_namespaces("sub-x", "s-1")
    # One prefix per template, each covering that template filled for this caller (summaries: every
    # session of the caller, so the prefix ends right after the caller's id).
    assert len(read) == len(filled) and all(any(f.startswith(r) for f in filled) for r in read)
    assert all(any(f.startswith(r) for r in read) for f in filled)
    assert "/users/sub-x/preferences" in read and "/summaries/sub-x/" in read
    # An id holding "/" could make one caller's prefix another's: then this session's only.
    assert "/summaries/a/b/s-1" in retrieval_namespaces("a/b", "s-1")


def _ask(service: SupportService, turns: list[tuple[Identity, str, str]]) -> list[str]:
    async def go() -> list[str]:
        texts = []
        for identity, session, prompt in turns:
            chunks = [c async for c in service.stream(prompt, identity, session)]
            assert not [c for c in chunks if isinstance(c, dict)], chunks
            texts.append("".join(c for c in chunks if isinstance(c, str)))
        await service.close()
        return texts

    return asyncio.run(go())


def test_file_memory_keeps_a_preference_across_sessions_of_one_user_only(tmp_path: Path) -> None:
    settings = Settings(model_provider="offline", local_memory_dir=tmp_path, auth=AuthSettings(mode="off"))
    alice, bob = Identity("sub-alice"), Identity("sub-bob")
    texts = _ask(
        SupportService(settings),
        [
            (alice, "a-1", "How should you contact me?"),
            (alice, "a-1", "I prefer e-mail contact"),
            (bob, "b-1", "How should you contact me?"),
            (bob, "a-1", "How should you contact me?"),  # alice's session id, bob's token
        ],
    )
    assert "don't know your preferences" in texts[0]
    assert "Noted: you prefer e-mail contact" in texts[1]
    assert "don't know your preferences" in texts[2] and "e-mail" not in texts[2]
    assert "e-mail" not in texts[3]
    # A new process (fresh service) and a new session of alice: the preference is known.
    later = _ask(SupportService(settings), [(alice, "a-2", "How should you contact me?")])
    assert "You told me you prefer e-mail contact" in later[0]
    assert not _ask(SupportService(settings), [(Identity(""), "a-2", "How should you contact me?")])[0].count(
        "e-mail"
    )


@pytest.fixture
def local_memory_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The AgentCore Memory stand-in, served on 127.0.0.1, with boto3 pointed at it."""
    from scripts.localdev.memory import LocalMemory
    from scripts.localdev.serving import BackgroundServer

    memory = LocalMemory()
    with BackgroundServer(memory.app()) as server:
        for key, value in {
            "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": server.url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(key, value)
        yield memory


def test_agentcore_memory_retrieves_preferences_from_the_callers_namespace_only(
    local_memory_api: Any, tmp_path: Path
) -> None:
    settings = Settings(
        model_provider="offline",
        memory_id=MEMORY_ID,
        region="us-east-1",
        local_memory_dir=tmp_path,
        auth=AuthSettings(mode="off"),
    )
    alice, bob = Identity("sub-alice"), Identity("sub-bob")
    texts = _ask(
        SupportService(settings),
        [
            (alice, "a-1", "I prefer e-mail contact"),
            (alice, "a-2", "How should you contact me?"),
            (bob, "b-1", "How should you contact me?"),
            (bob, "a-2", "How should you contact me?"),
        ],
    )
    assert "Noted: you prefer e-mail contact" in texts[0]
    assert "You told me you prefer e-mail contact" in texts[1]
    assert "e-mail" not in texts[2] and "e-mail" not in texts[3]
    assert local_memory_api.records == {(MEMORY_ID, "/users/sub-alice/preferences"): ["e-mail contact"]}
    # Every retrieval of every call is in the caller's namespaces: the calls are in turn order,
    # and each turn's retrievals follow its CreateEvent of the user message.
    retrievals = [c for c in local_memory_api.calls if c["operation"] == "RetrieveMemoryRecords"]
    assert retrievals
    actor_of_turn = []
    for call in local_memory_api.calls:
        if call["operation"] == "CreateEvent":
            actor_of_turn.append((call["actorId"], call["sessionId"]))
        elif call["operation"] == "RetrieveMemoryRecords":
            actor, session = actor_of_turn[-1]
            assert call["namespace"] in retrieval_namespaces(actor, session), (call, actor)
            assert call["memoryId"] == MEMORY_ID
    seen = {c["namespace"] for c in retrievals}
    assert {"/users/sub-alice/preferences", "/users/sub-bob/preferences"} <= seen
    assert not [
        call
        for call in local_memory_api.calls
        if call.get("actorId") not in (None, "sub-alice", "sub-bob")
        and call["operation"] != "ListEvents"  # the SDK's one-time legacy probe (read only)
    ]
