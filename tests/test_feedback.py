"""Answer ratings: the payload's validation, the bounded record of turns, and the agent over HTTP.

The agent runs as a process with the local issuer, the local gateway and the ratings table (as
prerequisites.yaml declares it) on a moto server over HTTP; the vote is read back from moto.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from feedback import FeedbackError, TurnLedger, Vote, parse_feedback
from tests.support.stack import ISSUER_SUBS, USER_CLIENT, AgentServer

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SESSION = "feedback-session-0123456789abcdef0123"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"feedback": {"traceId": TRACE, "rating": "up"}}, Vote(TRACE, "up")),
        ({"feedback": {"rating": "down", "traceId": TRACE}}, Vote(TRACE, "down")),
        ({"prompt": "hello"}, None),
        (["feedback"], None),
    ],
)
def test_a_feedback_body_is_recognised(payload: object, expected: Vote | None) -> None:
    assert parse_feedback(payload) == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"feedback": {"traceId": TRACE, "rating": "meh"}}, '"rating" must be "up" or "down"'),
        ({"feedback": {"traceId": TRACE, "rating": 1}}, '"rating" must be "up" or "down"'),
        ({"feedback": {"traceId": TRACE.upper(), "rating": "up"}}, '"traceId" must be the 32'),
        ({"feedback": {"traceId": TRACE[:31], "rating": "up"}}, '"traceId" must be the 32'),
        ({"feedback": {"traceId": "0" * 32, "rating": "up"}}, '"traceId" must be the 32'),
        ({"feedback": {"traceId": 7, "rating": "up"}}, '"traceId" must be the 32'),
        ({"feedback": {"traceId": TRACE}}, "must be an object with traceId and rating"),
        ({"feedback": {"traceId": TRACE, "rating": "up", "note": "x"}}, "must be an object with traceId"),
        ({"feedback": "up"}, "must be an object with traceId and rating"),
        ({"feedback": {"traceId": TRACE, "rating": "up"}, "prompt": "hi"}, "holds only feedback"),
    ],
)
def test_a_bad_feedback_body_is_refused_with_a_clear_message(payload: object, message: str) -> None:
    with pytest.raises(FeedbackError) as refused:
        parse_feedback(payload)
    assert refused.value.status == 400 and message in refused.value.message


def test_the_turn_ledger_is_bounded_and_per_owner() -> None:
    ledger = TurnLedger(max_sessions=2, per_session=3)
    for n in range(4):
        ledger.remember("alice", "s1", f"{n:032x}", f"{n:016x}")
    assert ledger.span_of("alice", "s1", f"{0:032x}") is None  # the oldest turn was dropped
    assert ledger.span_of("alice", "s1", f"{3:032x}") == f"{3:016x}"
    assert ledger.span_of("bob", "s1", f"{3:032x}") is None  # another user, same session id
    assert ledger.span_of("alice", "s2", f"{3:032x}") is None  # the same user, another session
    ledger.remember("bob", "s1", "b" * 32, "b" * 16)
    ledger.remember("carol", "s1", "c" * 32, "c" * 16)
    assert ledger.span_of("alice", "s1", f"{3:032x}") is None  # the least recent session was dropped


def test_the_trace_event_names_the_turn_span_and_the_rating_span_is_its_child(tmp_path: Path) -> None:
    import asyncio

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from auth import Identity
    from feedback import FeedbackDesk
    from feedback_store import FeedbackSettings
    from service import SupportService
    from settings import AuthSettings, Settings

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(model_provider="offline", local_memory_dir=tmp_path, auth=AuthSettings(mode="off"))
    service = SupportService(settings, provider)
    desk = FeedbackDesk(FeedbackSettings(table="ratings"), None, service.tracer, sessions=4)
    alice = Identity("sub-alice")

    async def turn() -> list[object]:
        answer = service.stream("What's the return policy for audio?", alice, "s1")
        chunks = [chunk async for chunk in desk.track(answer, alice, "s1")]
        await service.close()
        return chunks

    chunks = asyncio.run(turn())
    [span] = [s for s in exporter.get_finished_spans() if s.name == "customer_support.turn"]
    trace_id, span_id = f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"
    assert chunks[-1] == {"turn": {"traceId": trace_id}}
    assert desk.ledger.span_of("sub-alice", "s1", trace_id) == span_id

    service.tracer.feedback("sub-alice", "s1", trace_id, span_id, "down")
    [rating] = [s for s in exporter.get_finished_spans() if s.name == "customer_support.feedback"]
    assert rating.parent is not None and rating.parent.span_id == span.context.span_id
    assert rating.context.trace_id == span.context.trace_id
    assert [link.context.span_id for link in rating.links] == [span.context.span_id]
    attributes, turn_attributes = dict(rating.attributes or {}), dict(span.attributes or {})
    assert attributes["user.id"] == turn_attributes["user.id"] != "sub-alice"
    assert attributes["customer_support.feedback.rating"] == "down"


# -- the agent over HTTP -------------------------------------------------------------------------
@pytest.fixture
def ratings(moto_server: str) -> dict[str, str]:
    """An empty ratings table on moto, as prerequisites.yaml declares FeedbackTable."""
    from scripts.localdev.orders import FEEDBACK_RESOURCE, create_table

    name = f"feedback-{uuid.uuid4().hex[:8]}"
    create_table(moto_server, name, FEEDBACK_RESOURCE)
    return {"FEEDBACK_TABLE_NAME": name, "FEEDBACK_ENDPOINT_URL": moto_server}


def stored(ratings: dict[str, str], sub: str, trace_id: str) -> dict[str, Any] | None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=ratings["FEEDBACK_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    item = client.get_item(
        TableName=ratings["FEEDBACK_TABLE_NAME"],
        Key={"customer_id": {"S": sub}, "trace_id": {"S": trace_id}},
        ConsistentRead=True,
    ).get("Item")
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def turn_trace(agent: AgentServer, token: str, session: str) -> str:
    """Ask one question; the answer's stream ends with its trace id (and says it once)."""
    reply = agent.invoke({"prompt": "What's the return policy for audio?"}, token, session)
    assert reply.status == 200 and reply.text and not reply.errors
    events = [json.loads(line[6:]) for line in reply.body.splitlines() if line.startswith("data: ")]
    turns = [e["turn"]["traceId"] for e in events if isinstance(e, dict) and "turn" in e]
    assert len(turns) == 1 and events[-1] == {"turn": {"traceId": turns[0]}}
    assert re.fullmatch(r"[0-9a-f]{32}", turns[0])
    return str(turns[0])


def rate(agent: AgentServer, token: str, session: str, trace_id: str, rating: str) -> Any:
    body = {"feedback": {"traceId": trace_id, "rating": rating}}
    return agent.invoke(body, token, session)


def test_a_rating_is_stored_under_the_voter_and_recorded_on_the_turns_trace(
    agent_factory: Any, issuer: Any, ratings: dict[str, str], tmp_path: Path
) -> None:
    trace_file = tmp_path / "traces.jsonl"
    agent = agent_factory(TRACE_FILE=str(trace_file), **ratings)
    alice = issuer.user_tokens(issuer.user("alice"), USER_CLIENT)["access"]
    bob = issuer.user_tokens(issuer.user("bob"), USER_CLIENT)["access"]
    trace_id = turn_trace(agent, alice, SESSION)

    reply = rate(agent, alice, SESSION, trace_id, "down")
    assert reply.status == 200, reply.body
    assert json.loads(reply.body) == {"feedback": {"traceId": trace_id, "rating": "down"}}
    vote = stored(ratings, ISSUER_SUBS["alice"], trace_id)
    assert vote is not None and vote["rating"] == "down" and vote["session_id"] == SESSION
    assert alice not in json.dumps(vote)
    # A second vote replaces the first.
    assert rate(agent, alice, SESSION, trace_id, "up").status == 200
    assert stored(ratings, ISSUER_SUBS["alice"], trace_id)["rating"] == "up"  # type: ignore[index]

    # Bob cannot rate Alice's turn, not even in her session; nothing is written under either sub.
    for session in (SESSION, "bob-session-0123456789abcdef0123456"):
        refused = rate(agent, bob, session, trace_id, "down")
        assert refused.status == 403 and "only recent answers given to you" in refused.errors[0]
    assert stored(ratings, ISSUER_SUBS["bob"], trace_id) is None
    # Alice herself cannot rate it from another session either, nor a trace id never answered.
    assert rate(agent, alice, "other-session-0123456789abcdef012345", trace_id, "up").status == 403
    assert rate(agent, alice, SESSION, "a" * 32, "up").status == 403
    # Bad input: 400 with a clear message, and no token: 401 (the guard checks identity first).
    bad = rate(agent, alice, SESSION, trace_id, "sideways")
    assert bad.status == 400 and bad.errors == ['"rating" must be "up" or "down"']
    assert rate(agent, None, SESSION, trace_id, "up").status == 401  # type: ignore[arg-type]
    assert agent.invoke({"prompt": "ping"}, alice, SESSION).status == 200  # still healthy

    lines = [json.loads(line) for line in trace_file.read_text().splitlines()]
    turn = next(line for line in lines if "span" not in line)
    feedback = [line for line in lines if line.get("span") == "customer_support.feedback"]
    assert turn["trace_id"] == trace_id
    assert [f["rating"] for f in feedback] == ["down", "up"]
    assert {f["trace_id"] for f in feedback} == {trace_id}  # in the rated turn's trace
    assert {f["user.id"] for f in feedback} == {turn["user.id"]} and turn["user.id"] != "sub-alice"
    assert {f["session.id"] for f in feedback} == {SESSION}
    assert alice not in trace_file.read_text()


def test_ratings_are_bounded_per_customer_and_day(
    agent_factory: Any, issuer: Any, ratings: dict[str, str]
) -> None:
    agent = agent_factory(FEEDBACK_DAILY_LIMIT="2", **ratings)
    alice = issuer.user_tokens(issuer.user("alice"), USER_CLIENT)["access"]
    trace_id = turn_trace(agent, alice, SESSION)
    assert [rate(agent, alice, SESSION, trace_id, r).status for r in ("up", "down")] == [200, 200]
    over = rate(agent, alice, SESSION, trace_id, "up")
    assert over.status == 429 and "rate again tomorrow" in over.errors[0]
    assert 0 < json.loads(over.body)["retryAfterSeconds"] <= 86_401
    assert stored(ratings, ISSUER_SUBS["alice"], trace_id)["rating"] == "down"  # type: ignore[index]


def test_without_a_ratings_table_answers_carry_no_trace_event_and_ratings_are_unavailable(
    agent_factory: Any, issuer: Any
) -> None:
    agent = agent_factory()
    alice = issuer.user_tokens(issuer.user("alice"), USER_CLIENT)["access"]
    reply = agent.invoke({"prompt": "What's the return policy for audio?"}, alice, SESSION)
    assert reply.status == 200 and '"turn"' not in reply.body
    refused = rate(agent, alice, SESSION, TRACE, "up")
    assert refused.status == 503 and refused.errors == ["Feedback is not available on this agent"]


@pytest.mark.e2e
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_the_cli_prints_the_answer_without_the_trace_event(
    agent_factory: Any, issuer: Any, ratings: dict[str, str], stream: bool
) -> None:
    import os
    import subprocess

    from tests.support.cli import find_agentcore_cli
    from tests.support.processes import REPO

    cli = find_agentcore_cli()
    agent = agent_factory(**ratings)
    alice = issuer.user_tokens(issuer.user("alice"), USER_CLIENT)["access"]
    expected = agent.invoke({"prompt": "What's the return policy for audio?"}, alice, SESSION)
    assert '"turn"' in expected.body  # the agent does send it
    result = subprocess.run(
        [str(REPO / "scripts" / "agentcore"), "dev", "--port", str(agent.port)]
        + ["-H", f"Authorization: Bearer {alice}", *(["--stream"] if stream else [])]
        + ["What's the return policy for audio?"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AGENTCORE_CLI": cli},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected.text.strip() in result.stdout
    assert "traceId" not in result.stdout and '"turn"' not in result.stdout
