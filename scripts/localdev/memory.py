"""A local stand-in for the AgentCore Memory data plane (``bedrock-agentcore`` REST JSON API).

Enough of the API for ``AgentCoreMemorySessionManager``: CreateEvent, ListEvents, GetEvent,
ListSessions and RetrieveMemoryRecords. Of the long-term strategies only USER_PREFERENCE is
imitated: a user message stating a preference ("I prefer e-mail contact", recognised by the
agent's own ``memory.preferences.extract_preference``) becomes a record in
``/users/{actorId}/preferences``, and retrieval returns the records of exactly the namespace asked
for (facts and summaries stay empty). Events live in memory, keyed by (memoryId, actorId, sessionId), so a
conversation's history survives turns. Point boto3 at it with
``AWS_ENDPOINT_URL_BEDROCK_AGENTCORE=http://127.0.0.1:PORT`` and dummy credentials.

Every call is recorded as (operation, memoryId, actorId, sessionId, namespace) — never payloads —
in ``calls`` and, when ``record_file`` is set, as JSON lines there, so tests in other processes
can check that each call is keyed by the caller's verified ``sub``.

Run: ``python -m scripts.localdev.memory [--port N] [--record FILE]``.
"""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from scripts.localdev.paths import agent_code_on_path
from scripts.localdev.serving import serve_forever

agent_code_on_path()

from memory.preferences import extract_preference, preference_record  # noqa: E402 - agent code

PREFERENCE_NAMESPACE = "/users/{actorId}/preferences"  # as declared in agentcore/agentcore.json

Key = tuple[str, str, str]


@dataclass
class LocalMemory:
    """In-memory events per (memory, actor, session) and a record of every call."""

    record_file: Path | None = None
    events: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (memory, namespace)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _record(self, operation: str, **keys: str) -> None:
        entry = {"operation": operation, **keys}
        with self._lock:
            self.calls.append(entry)
            if self.record_file is not None:
                with self.record_file.open("a") as out:
                    out.write(json.dumps(entry) + "\n")

    async def create_event(self, request: Request) -> JSONResponse:
        """CreateEvent: store one event for (memory, actor, session)."""
        memory_id = request.path_params["memoryId"]
        body = await request.json()
        actor, session = str(body.get("actorId", "")), str(body.get("sessionId", ""))
        if not actor or not session:
            return _error(400, "ValidationException", "actorId and sessionId are required")
        self._record("CreateEvent", memoryId=memory_id, actorId=actor, sessionId=session)
        event = {
            "memoryId": memory_id,
            "actorId": actor,
            "sessionId": session,
            "eventId": f"{len(self.calls):012d}#{uuid.uuid4().hex[:8]}",
            "eventTimestamp": body.get("eventTimestamp") or datetime.now(timezone.utc).timestamp(),
            "payload": body.get("payload", []),
            "branch": body.get("branch") or {"name": "main"},
            "metadata": body.get("metadata") or {},
        }
        with self._lock:
            self.events.setdefault((memory_id, actor, session), []).append(event)
            self._extract(memory_id, actor, event["payload"])
        return JSONResponse({"event": event}, status_code=201)

    def _extract(self, memory_id: str, actor: str, payload: list[dict[str, Any]]) -> None:
        """USER_PREFERENCE extraction, synchronously (the service does it asynchronously)."""
        for item in payload:
            conversational = item.get("conversational") or {}
            if str(conversational.get("role", "")).upper() != "USER":
                continue
            for text in _texts(conversational.get("content", {}).get("text", "")):
                preference = extract_preference(text)
                if preference:
                    namespace = PREFERENCE_NAMESPACE.format(actorId=actor)
                    kept = self.records.setdefault((memory_id, namespace), [])
                    if preference not in kept:
                        kept.append(preference)

    async def list_events(self, request: Request) -> JSONResponse:
        """ListEvents: the session's events, oldest first."""
        p = request.path_params
        self._record("ListEvents", memoryId=p["memoryId"], actorId=p["actorId"], sessionId=p["sessionId"])
        body = await request.json() if await request.body() else {}
        with self._lock:
            events = list(self.events.get((p["memoryId"], p["actorId"], p["sessionId"]), []))
        if not body.get("includePayloads", True):
            events = [{k: v for k, v in e.items() if k != "payload"} for e in events]
        return JSONResponse({"events": events})

    async def get_event(self, request: Request) -> JSONResponse:
        """GetEvent: one event by id."""
        p = request.path_params
        self._record("GetEvent", memoryId=p["memoryId"], actorId=p["actorId"], sessionId=p["sessionId"])
        with self._lock:
            events = self.events.get((p["memoryId"], p["actorId"], p["sessionId"]), [])
            found = [e for e in events if e["eventId"] == p["eventId"]]
        if not found:
            return _error(404, "ResourceNotFoundException", "No such event")
        return JSONResponse({"event": found[0]})

    async def list_sessions(self, request: Request) -> JSONResponse:
        """ListSessions: the actor's sessions in this memory."""
        p = request.path_params
        self._record("ListSessions", memoryId=p["memoryId"], actorId=p["actorId"])
        with self._lock:
            sessions = [
                {"sessionId": s, "actorId": a, "createdAt": evs[0]["eventTimestamp"]}
                for (m, a, s), evs in self.events.items()
                if m == p["memoryId"] and a == p["actorId"]
            ]
        return JSONResponse({"sessionSummaries": sessions})

    async def retrieve(self, request: Request) -> JSONResponse:
        """RetrieveMemoryRecords: no long-term records are extracted locally."""
        body = await request.json()
        namespace = str(body.get("namespace") or body.get("namespacePath") or "")
        memory_id = request.path_params["memoryId"]
        self._record("RetrieveMemoryRecords", memoryId=memory_id, namespace=namespace)
        with self._lock:
            found = list(self.records.get((memory_id, namespace), []))
        now = datetime.now(timezone.utc).timestamp()
        summaries = [
            {
                "memoryRecordId": f"mem-{uuid.uuid4().hex[:12]}",
                "content": {"text": preference_record(preference)},
                "memoryStrategyId": "local-user-preference",
                "namespaces": [namespace],
                "createdAt": now,
                "score": 1.0,
            }
            for preference in found
        ]
        return JSONResponse({"memoryRecordSummaries": summaries})

    def app(self) -> Starlette:
        """The ASGI app serving the data-plane routes."""
        base = "/memories/{memoryId}"
        return Starlette(
            routes=[
                Route(f"{base}/events", self.create_event, methods=["POST"]),
                Route(f"{base}/actor/{{actorId}}/sessions", self.list_sessions, methods=["POST"]),
                Route(f"{base}/actor/{{actorId}}/sessions/{{sessionId}}", self.list_events, methods=["POST"]),
                Route(
                    f"{base}/actor/{{actorId}}/sessions/{{sessionId}}/events/{{eventId}}",
                    self.get_event,
                    methods=["GET"],
                ),
                Route(f"{base}/retrieve", self.retrieve, methods=["POST"]),
            ]
        )


def _texts(raw: str) -> list[str]:
    """The text blocks of a stored message (the session manager stores messages as JSON)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return [raw]
    found: list[str] = []
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.extend(v for k, v in node.items() if k == "text" and isinstance(v, str))
            stack.extend(v for k, v in node.items() if k != "text")
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers={"x-amzn-ErrorType": kind})


def main() -> None:
    """Serve on 127.0.0.1 until interrupted; prints the endpoint URL first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--record", type=Path, help="append a JSON line per call to this file")
    args = parser.parse_args()
    memory = LocalMemory(record_file=args.record)
    serve_forever(memory.app(), args.port, lambda port: print(f"http://127.0.0.1:{port}", flush=True))


if __name__ == "__main__":
    main()
