"""The agent over real HTTP with the offline model, the local issuer and the local gateway."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.stack import MACHINE_CLIENT, SCOPE, USER_CLIENT


def user_token(issuer: Any, username: str, **kwargs: Any) -> str:
    user = issuer.user(username)
    return issuer.user_tokens(user, USER_CLIENT, **kwargs)["access"]


def machine_token(issuer: Any) -> str:
    return issuer.client_credentials_token(MACHINE_CLIENT, [SCOPE])


def new_session() -> str:
    return f"session-{uuid.uuid4()}"


@pytest.fixture
def agent(shared_agent: Any) -> Any:
    return shared_agent


def test_seed_conversation_end_to_end(agent: Any, issuer: Any, gateway: Any) -> None:
    token, session = user_token(issuer, "alice"), new_session()
    calls_before = len(gateway.calls)

    policy = agent.invoke({"prompt": "What's the return policy for accessories?"}, token, session)
    assert policy.status == 200 and not policy.errors
    assert "[offline model]" in policy.text
    assert "14 days" in policy.text and "Store credit or exchange" in policy.text

    product = agent.invoke({"prompt": "Tell me about the USB-C Hub"}, token, session)
    assert "USB-C Hub (PROD-004)" in product.text and "$54.99" in product.text

    by_id = agent.invoke({"prompt": "What is prod-005?"}, token, session)
    assert "Mechanical Keyboard" in by_id.text and "$129.99" in by_id.text

    warranty = agent.invoke({"prompt": "Check the warranty for PROD-002"}, token, session)
    assert "warranty status" in warranty.text.lower()
    assert "24" in warranty.text and "Smart Watch" in warranty.text
    assert [c.tool for c in gateway.calls[calls_before:]] == ["WarrantyCheck___check_warranty"]
    assert gateway.calls[-1].arguments == {"product_id": "PROD-002"}

    agent.invoke({"prompt": "My name is Alex"}, token, session)
    recall = agent.invoke({"prompt": "Do you remember my name?"}, token, session)
    assert "your name is Alex" in recall.text


def test_audio_policy_and_unknown_inputs_get_helpful_answers(agent: Any, issuer: Any) -> None:
    token = user_token(issuer, "alice")
    audio = agent.invoke({"prompt": "Can I return headphones? What is the audio refund policy?"}, token)
    assert "30 days" in audio.text and "15 days" in audio.text
    unknown = agent.invoke({"prompt": "Tell me about the flux capacitor"}, token)
    assert "No product matches" in unknown.text and "PROD-001" in unknown.text
    other = agent.invoke({"prompt": "hello there"}, token)
    assert "return policies" in other.text and other.status == 200


def test_every_gateway_call_carries_the_token_of_its_own_request(
    agent: Any, issuer: Any, gateway: Any
) -> None:
    """Two users in parallel; Alice switches to a fresh token mid-session."""
    turns = 4
    plan: dict[str, list[str]] = {
        "alice": [user_token(issuer, "alice") for _ in range(2)],
        "bob": [user_token(issuer, "bob")],
    }
    expected: dict[str, str] = {}  # purchase date (unique per request) -> Authorization sent

    def converse(user: str, day_offset: int) -> list[str]:
        session, texts = new_session(), []
        for turn in range(turns):
            token = plan[user][0] if turn < turns // 2 or len(plan[user]) == 1 else plan[user][1]
            date = f"2025-{day_offset + turn:02d}-15"
            expected[date] = f"Bearer {token}"
            reply = agent.invoke({"prompt": f"Check the warranty for PROD-001 bought {date}"}, token, session)
            texts.append(reply.text)
        return texts

    before = len(gateway.calls)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(converse, ["alice", "bob"], [1, 6]))

    for texts in results:
        assert all("Wireless Headphones" in text for text in texts), texts
    calls = gateway.calls[before:]
    assert len(calls) == 2 * turns
    for call in calls:
        assert call.authorization == expected[call.arguments["purchase_date"]]
    # After Alice's switch, her old token never reaches the gateway again.
    old, new = f"Bearer {plan['alice'][0]}", f"Bearer {plan['alice'][1]}"
    seen = [auth for auth in gateway.requests if auth in (old, new)]
    assert new in seen and old not in seen[seen.index(new) :]


def test_memory_is_per_user_and_per_session(agent: Any, issuer: Any) -> None:
    alice, bob, session = user_token(issuer, "alice"), user_token(issuer, "bob"), new_session()
    agent.invoke({"prompt": "My name is Alice"}, alice, session)
    assert "your name is Alice" in agent.invoke({"prompt": "Do you remember my name?"}, alice, session).text

    same_session_other_user = agent.invoke({"prompt": "Do you remember my name?"}, bob, session)
    assert "don't know your name" in same_session_other_user.text
    assert "Alice" not in same_session_other_user.text

    new_session_same_user = agent.invoke({"prompt": "Do you remember my name?"}, alice, new_session())
    assert "don't know your name" in new_session_same_user.text


def test_history_survives_a_restart(agent_factory: Any, issuer: Any, tmp_path: Any) -> None:
    token, session, memory = user_token(issuer, "alice"), new_session(), tmp_path / "persisted"
    first = agent_factory(memory_dir=memory)
    first.invoke({"prompt": "My name is Morgan"}, token, session)
    first.stop()
    second = agent_factory(memory_dir=memory)
    assert "your name is Morgan" in second.invoke({"prompt": "Do you remember my name?"}, token, session).text


def test_spoofed_identity_in_payload_is_ignored(agent: Any, issuer: Any) -> None:
    alice, bob, session = user_token(issuer, "alice"), user_token(issuer, "bob"), new_session()
    agent.invoke({"prompt": "My name is Alice"}, alice, session)
    spoof = {
        "prompt": "Do you remember my name?",
        "user_id": "sub-alice",
        "actor_id": "sub-alice",
        "actorId": "sub-alice",
        "session_id": session,
    }
    reply = agent.invoke(spoof, bob, session)
    assert reply.status == 200 and "Alice" not in reply.text


def test_without_a_session_header_each_request_is_its_own_session(agent: Any, issuer: Any) -> None:
    token = user_token(issuer, "alice")
    agent.invoke({"prompt": "My name is Sam"}, token)
    assert "don't know your name" in agent.invoke({"prompt": "Do you remember my name?"}, token).text


def test_without_token_local_tools_work_and_warranty_needs_sign_in(agent_factory: Any) -> None:
    agent = agent_factory(AUTH_MODE="off")
    policy = agent.invoke({"prompt": "What's the return policy for electronics?"})
    assert "30 days" in policy.text
    warranty = agent.invoke({"prompt": "Check the warranty for PROD-002"})
    assert warranty.status == 200 and "sign in" in warranty.text


def test_gateway_down_still_answers_and_says_unavailable(agent_factory: Any, issuer: Any) -> None:
    from tests.support.processes import free_port

    agent = agent_factory(
        AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=f"http://127.0.0.1:{free_port()}/mcp",
        GATEWAY_TIMEOUT_SECONDS="3",
    )
    token = user_token(issuer, "alice")
    reply = agent.invoke({"prompt": "Check the warranty for PROD-002"}, token)
    assert reply.status == 200 and not reply.errors
    assert "warranty service is unavailable" in reply.text
    assert "14 days" in agent.invoke({"prompt": "Return policy for accessories?"}, token).text


def test_gateway_rejecting_the_token_says_unavailable(agent_factory: Any, issuer: Any) -> None:
    # The agent accepts the machine client, but this gateway only allows the user client.
    from scripts.localdev.gateway import build_gateway
    from scripts.localdev.serving import BackgroundServer
    from tests.support.stack import auth_env

    strict = build_gateway({**auth_env(issuer), "AUTH_ALLOWED_CLIENTS": USER_CLIENT})
    with BackgroundServer(strict.app) as server:
        agent = agent_factory(AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=f"{server.url}/mcp")
        reply = agent.invoke({"prompt": "Check the warranty for PROD-003"}, machine_token(issuer))
    assert reply.status == 200 and "warranty service is unavailable" in reply.text
    assert strict.calls == []


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"{not json", 400, "Body must be JSON"),
        (b"\xff\xfe", 400, "Body must be JSON"),
        (b'["prompt"]', 400, "JSON object"),
        (b'"just a string"', 400, "JSON object"),
        (b"{}", 400, 'Missing "prompt"'),
        (b'{"prompt": ""}', 400, "must not be empty"),
        (b'{"prompt": "   "}', 400, "must not be empty"),
        (b'{"prompt": 42}', 400, "must be a string"),
        (b'{"prompt": ["a"]}', 400, "must be a string"),
        (b'{"prompt": "' + b"x" * 8001 + b'"}', 413, "longer than 8000 characters"),
        (b'{"prompt": "' + b"x" * 70000 + b'"}', 413, "larger than"),
    ],
)
def test_bad_payloads_get_clear_errors(
    agent: Any, issuer: Any, raw: bytes, status: int, message: str
) -> None:
    reply = agent.invoke(None, user_token(issuer, "alice"), raw=raw)
    assert reply.status == status
    assert message in reply.errors[0]
    assert "Traceback" not in reply.body and "Expecting" not in reply.body and "line 1" not in reply.body
    assert httpx.get(f"{agent.url}/ping").json()["status"] == "Healthy"


def test_bad_session_id_is_rejected(agent: Any, issuer: Any) -> None:
    reply = agent.invoke({"prompt": "hi"}, user_token(issuer, "alice"), session="../../etc/passwd")
    assert reply.status == 400 and reply.errors == ["Invalid session id"]


def test_prompt_at_the_limit_is_accepted(agent: Any, issuer: Any) -> None:
    reply = agent.invoke({"prompt": "x" * 8000}, user_token(issuer, "alice"))
    assert reply.status == 200 and reply.text.startswith("[offline model]")


def test_internal_failure_is_a_generic_error_event(agent_factory: Any, issuer: Any, tmp_path: Any) -> None:
    # A memory directory that cannot be created makes the turn fail inside the agent.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    agent = agent_factory(memory_dir=blocker / "sessions")
    reply = agent.invoke({"prompt": "hi"}, user_token(issuer, "alice"))
    assert reply.status == 200
    assert reply.errors == ["Sorry, something went wrong while answering. Please try again."]
    assert "Error" not in reply.body.replace('"error"', "") and "not-a-dir" not in reply.body
    assert httpx.get(f"{agent.url}/ping").json()["status"] == "Healthy"
    assert re.search(r"turn failed", agent.log.read_text())
