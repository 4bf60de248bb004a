"""One OpenTelemetry span per turn, findable by session and by (pseudonymous) user.

Spans go through the OpenTelemetry API: deployed, the runtime starts the agent under the ADOT
distro (``opentelemetry-instrument``), whose tracer provider exports them to CloudWatch beside
Strands' own agent, model and tool spans (which carry the same ``session.id`` and ``user.id``
through the agent's ``trace_attributes``). Locally ``TRACE_FILE`` names a file that gets one
JSON line per turn (see ``TurnFileExporter``); the SDK is imported only then.

Attributes carry no token and no raw claim: the user id is an HMAC-SHA256 of the token's ``sub``
under ``TRACE_USER_ID_KEY`` (or a random per-process key), so it cannot be turned back into the
``sub`` and, with a random key, correlates nothing beyond one process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from opentelemetry import trace
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
)
from strands.hooks import AfterToolCallEvent, HookProvider, HookRegistry

TURN_SPAN = "customer_support.turn"
TRACE_KEY = "customersupport_turn_trace"  # where a turn's TurnRecord travels in invocation_state
MAX_SESSION_CHARS = 256
ANONYMOUS_USER = "anonymous"

# Span attribute names (documented in docs/architecture.md).
SESSION_ID = "session.id"
USER_ID = "user.id"
TOOLS = "customer_support.tools"
TOOL_COUNT = "customer_support.tool_count"
HOP_STATUS = "customer_support.{hop}.status"  # per MCP hop: gateway, web_search
GATEWAY_STATUS = HOP_STATUS.format(hop="gateway")
WEB_SEARCH_STATUS = HOP_STATUS.format(hop="web_search")
OUTCOME = "customer_support.outcome"
ACTION_OUTCOME = "customer_support.action.outcome"
ERROR_TYPE = "error.type"
TOOL_EVENT = "tool_call"
DENIED = "customer_support.policy_denied"  # events the hop tools add (mcp_client/tools.py)
OVERRIDDEN = "customer_support.identity_argument_overridden"
# The running turn's span (feedback.py reads it while the turn's generator is suspended at a yield,
# which runs in its caller's context; Strands' spans inside the turn are current by then).
CURRENT_TURN: ContextVar[Span | None] = ContextVar("customer_support_turn", default=None)
FEEDBACK_SPAN = "customer_support.feedback"  # a rating of a turn, in that turn's trace (feedback.py)
FEEDBACK_RATING = "customer_support.feedback.rating"
FEEDBACK_TRACE = "customer_support.feedback.trace_id"


@dataclass
class TurnRecord:
    """What happened in one turn (filled by the tool hook, read when the span ends)."""

    span: Span
    tools: list[tuple[str, float, str]] = field(default_factory=list)  # (name, seconds, status)


class TurnTracer:
    """Starts turn spans; owns the pseudonymisation key and the optional local file export."""

    def __init__(
        self, user_key: bytes | None = None, trace_file: Path | None = None, provider: Any = None
    ) -> None:
        self._key = user_key or os.urandom(32)  # per process unless configured
        if provider is None and trace_file is not None:
            provider = _file_provider(trace_file)
        self._tracer: Tracer = (provider or trace.get_tracer_provider()).get_tracer("customersupport")

    def user_id(self, sub: str | None) -> str:
        """A stable, non-reversible id for `sub` (keyed: the same sub hashes alike only per key)."""
        if not sub:
            return ANONYMOUS_USER
        return hmac.new(self._key, sub.encode(), hashlib.sha256).hexdigest()[:32]

    def attributes(self, sub: str | None, session_id: str) -> dict[str, str]:
        """The identifying attributes of a turn (also handed to Strands' own spans)."""
        return {SESSION_ID: session_id[:MAX_SESSION_CHARS], USER_ID: self.user_id(sub)}

    @contextmanager
    def turn(self, sub: str | None, session_id: str) -> Iterator[TurnRecord]:
        """The turn's span, current while the turn runs; ends with its tools and outcome."""
        with self._tracer.start_as_current_span(
            TURN_SPAN, attributes=self.attributes(sub, session_id), record_exception=False
        ) as span:
            record = TurnRecord(span)
            marker = CURRENT_TURN.set(span)
            try:
                yield record
            finally:
                with suppress(ValueError):  # ended in another context: nothing to undo there
                    CURRENT_TURN.reset(marker)
                names = [name for name, _, _ in record.tools]
                span.set_attribute(TOOLS, names)
                span.set_attribute(TOOL_COUNT, len(names))

    def feedback(self, sub: str, session_id: str, trace_id: str, span_id: str, rating: str) -> None:
        """Record a rating as a span in the rated turn's trace (child of, and linked to, its span)."""
        turn = SpanContext(int(trace_id, 16), int(span_id, 16), True, TraceFlags(TraceFlags.SAMPLED))
        attributes = {**self.attributes(sub, session_id), FEEDBACK_RATING: rating, FEEDBACK_TRACE: trace_id}
        parent = trace.set_span_in_context(NonRecordingSpan(turn))
        self._tracer.start_span(FEEDBACK_SPAN, parent, attributes=attributes, links=[Link(turn)]).end()


def finish(record: TurnRecord, hops: dict[str, str], error: BaseException | None) -> None:
    """Set the turn's hop statuses and outcome (the exception's type only: its text may hold data)."""
    span = record.span
    for hop, status in hops.items():
        span.set_attribute(HOP_STATUS.format(hop=hop), status)
    span.set_attribute(OUTCOME, "error" if error is not None else "answered")
    if error is not None:
        span.set_attribute(ERROR_TYPE, type(error).__name__)
        span.set_status(Status(StatusCode.ERROR, "turn failed"))


class ToolTiming(HookProvider):
    """Adds each tool call (name, duration, status) to the current turn's record and span."""

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Listen for finished tool calls."""
        registry.add_callback(AfterToolCallEvent, self._after)

    @staticmethod
    def _after(event: AfterToolCallEvent) -> None:
        record = event.invocation_state.get(TRACE_KEY)
        if not isinstance(record, TurnRecord):
            return
        name = str(event.tool_use.get("name", ""))
        result = event.result if isinstance(event.result, dict) else {}
        status = str(result.get("status", "error"))
        seconds = float(event.duration or 0.0)
        record.tools.append((name, seconds, status))
        record.span.add_event(
            TOOL_EVENT,
            {"gen_ai.tool.name": name, "duration_ms": round(seconds * 1000, 1), "status": status},
        )


# -- local export -----------------------------------------------------------------------------------
def _file_provider(path: Path) -> Any:
    """An SDK tracer provider writing turn spans to `path` (imported only when configured)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(cast("SpanExporter", TurnFileExporter(path))))
    return provider


def turn_summary(span: Any) -> dict[str, Any]:
    """One finished turn span as a short JSON-able summary (what the local trace file holds)."""
    attributes = dict(span.attributes or {})
    start, end = span.start_time or 0, span.end_time or 0
    return {
        "session.id": attributes.get(SESSION_ID),
        "user.id": attributes.get(USER_ID),
        "outcome": attributes.get(OUTCOME),
        "action": attributes.get(ACTION_OUTCOME),  # a write's confirmation outcome (confirm_turn.py)
        "duration_ms": round((end - start) / 1e6, 1),
        "gateway": attributes.get(GATEWAY_STATUS),
        "web_search": attributes.get(WEB_SEARCH_STATUS),
        "tools": [
            {
                "name": event.attributes.get("gen_ai.tool.name"),
                "duration_ms": event.attributes.get("duration_ms"),
                "status": event.attributes.get("status"),
            }
            for event in span.events
            if event.name == TOOL_EVENT
        ],
        # Named by the hop tool (mcp_client/tools.py): the tool's name only, never its arguments.
        "policy_denied": [e.attributes.get("gen_ai.tool.name") for e in span.events if e.name == DENIED],
        "identity_overridden": [
            e.attributes.get("gen_ai.tool.name") for e in span.events if e.name == OVERRIDDEN
        ],
        "trace_id": f"{span.context.trace_id:032x}",
    }


def feedback_summary(span: Any) -> dict[str, Any]:
    """One feedback span as the local trace file holds it (``span`` tells it from a turn line)."""
    attributes = dict(span.attributes or {})
    return {
        "span": FEEDBACK_SPAN,
        "session.id": attributes.get(SESSION_ID),
        "user.id": attributes.get(USER_ID),
        "rating": attributes.get(FEEDBACK_RATING),
        "trace_id": f"{span.context.trace_id:032x}",
    }


class TurnFileExporter:
    """A span exporter that appends each turn (and feedback) span's summary to a JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[Any]) -> Any:
        """Write the turn spans among `spans` (others are ignored)."""
        from opentelemetry.sdk.trace.export import SpanExportResult

        lines = [json.dumps(turn_summary(s)) + "\n" for s in spans if s.name == TURN_SPAN]
        lines += [json.dumps(feedback_summary(s)) + "\n" for s in spans if s.name == FEEDBACK_SPAN]
        if lines:
            try:
                with self._lock, self.path.open("a") as out:
                    out.writelines(lines)
            except OSError:
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release (the file is opened per export)."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Every export is written at once."""
        return True
