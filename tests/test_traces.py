"""Per-turn spans: session id, pseudonymous user id, tools, hop statuses, outcome; never a token.

Spans are collected with the OpenTelemetry SDK's in-memory exporter, installed as the global
tracer provider (as the ADOT distro installs its own when deployed), so Strands' agent, model and
tool spans are checked too. The local trace file is checked on an agent process.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import telemetry
from auth import Identity
from service import SupportService
from settings import AuthSettings, Settings
from tests.support.stack import USER_CLIENT

KEY = b"test-trace-key"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdWItYWxpY2UifQ.c2lnbmF0dXJlLXNlY3JldA"  # shaped like a JWT
_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every finished span of the test (the global provider is set once per process)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def expected_user_id(sub: str) -> str:
    return hmac.new(KEY, sub.encode(), hashlib.sha256).hexdigest()[:32]


def run(service: SupportService, turns: list[tuple[Identity, str, str]]) -> list[str]:
    async def go() -> list[str]:
        texts = []
        for identity, session, prompt in turns:
            chunks = [c async for c in service.stream(prompt, identity, session)]
            texts.append("".join(str(c) for c in chunks))
        await service.close()
        return texts

    return asyncio.run(go())


def turn_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name == telemetry.TURN_SPAN]


def test_turn_spans_carry_session_user_tools_statuses_and_outcome(
    spans: InMemorySpanExporter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        model_provider="offline", local_memory_dir=tmp_path, trace_user_key=KEY, auth=AuthSettings(mode="off")
    )
    alice = Identity("sub-alice", token=TOKEN, claims={"sub": "sub-alice", "email": "alice@example.com"})
    bob = Identity("sub-bob")
    texts = run(
        SupportService(settings),
        [
            (alice, "session-a", "What's the return policy for accessories?"),
            (alice, "session-a", "search the web for how to reset my headphones"),
            (bob, "session-b", "Tell me about PROD-001 and hi"),
            (Identity(""), "session-c", "hello"),
        ],
    )
    assert "14 days" in texts[0] and "Web search is unavailable" in texts[1]
    first, second, third, anonymous = turn_spans(spans)
    attributes = dict(first.attributes)
    assert attributes == {
        "session.id": "session-a",
        "user.id": expected_user_id("sub-alice"),
        "customer_support.tools": ("get_return_policy",),
        "customer_support.tool_count": 1,
        "customer_support.gateway.status": "not configured",
        "customer_support.web_search.status": "not configured",
        "customer_support.outcome": "answered",
    }
    [event] = [e for e in first.events if e.name == telemetry.TOOL_EVENT]
    assert event.attributes["gen_ai.tool.name"] == "get_return_policy"
    assert event.attributes["status"] == "success" and event.attributes["duration_ms"] >= 0
    assert second.attributes["customer_support.tool_count"] == 0
    assert third.attributes["user.id"] == expected_user_id("sub-bob") != first.attributes["user.id"]
    assert third.attributes["customer_support.tools"] == ("get_product_info",)
    assert anonymous.attributes["user.id"] == "anonymous"
    # Strands' own spans of the turn carry the same identifying attributes, nested under the turn.
    turn_id = first.context.span_id
    children = [s for s in spans.get_finished_spans() if s.parent and s.parent.span_id == turn_id]
    assert children and all((c.attributes or {}).get("session.id") == "session-a" for c in children)
    assert all((c.attributes or {}).get("user.id") == expected_user_id("sub-alice") for c in children)
    # No span (any attribute or event, of ours or Strands') and no log line holds a credential
    # or a raw claim.
    dumped = "\n".join(s.to_json() for s in spans.get_finished_spans())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (TOKEN, TOKEN.split(".")[-1], "sub-alice", "alice@example.com"):
        assert secret not in dumped, secret
        assert secret not in logged, secret


def test_a_failed_turn_has_outcome_error_and_only_the_error_type(
    spans: InMemorySpanExporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = SupportService(
        Settings(model_provider="offline", local_memory_dir=tmp_path, auth=AuthSettings(mode="off"))
    )

    def broken(*_: Any) -> Any:
        raise RuntimeError(f"backend said {TOKEN}")

    monkeypatch.setattr(service, "_build_agent", broken)
    [text] = run(service, [(Identity("sub-x", token=TOKEN), "s-err", "hello")])
    assert "something went wrong" in text and TOKEN not in text
    [span] = turn_spans(spans)
    assert span.attributes["customer_support.outcome"] == "error"
    assert span.attributes["error.type"] == "RuntimeError"
    assert span.status.status_code == trace.StatusCode.ERROR
    assert TOKEN not in span.to_json()


def test_user_ids_are_keyed_and_random_per_process_by_default() -> None:
    keyed = telemetry.TurnTracer(KEY)
    assert keyed.user_id("sub-1") == expected_user_id("sub-1") == telemetry.TurnTracer(KEY).user_id("sub-1")
    assert telemetry.TurnTracer().user_id("sub-1") != telemetry.TurnTracer().user_id("sub-1")
    assert keyed.user_id("sub-1") != keyed.user_id("sub-2") and "sub-1" not in keyed.user_id("sub-1")


def test_the_local_trace_file_has_a_line_per_turn_and_no_token(
    agent_factory: Any, issuer: Any, web_search: Any, tmp_path: Path
) -> None:
    trace_file = tmp_path / "traces.jsonl"
    agent = agent_factory(WEB_SEARCH_MCP_URL=web_search.url, TRACE_FILE=str(trace_file))
    bearer = issuer.user_tokens(issuer.user("alice"), USER_CLIENT)["access"]
    prompts = [
        "Check the warranty for PROD-001",
        "search the web for how to reset my headphones",
        "What's the return policy for audio?",
    ]
    for prompt in prompts:
        assert agent.invoke({"prompt": prompt}, bearer, "trace-session").status == 200
    lines = [json.loads(line) for line in trace_file.read_text().splitlines()]
    assert len(lines) == len(prompts)
    tools = [[t["name"] for t in line["tools"]] for line in lines]
    assert tools == [["WarrantyCheck___check_warranty"], ["web_search_exa"], ["get_return_policy"]]
    for line in lines:
        assert line["session.id"] == "trace-session" and line["outcome"] == "answered"
        assert line["gateway"] == "available" and line["web_search"] == "available"
        assert len(line["user.id"]) == 32 and line["user.id"] != "sub-alice"
        assert all(t["status"] == "success" and t["duration_ms"] >= 0 for t in line["tools"])
    assert bearer not in trace_file.read_text() and bearer.split(".")[-1] not in trace_file.read_text()
    print("\n" + trace_file.read_text())  # the sample in the report
