"""A hop's tool as the model sees it, calling through the current turn's session with that hop.

Identity arguments: when the hop's spec names one (the gateway's ``customer_id``) and a tool's
input schema declares it, the argument belongs to the caller, not the model:

- the schema the model gets has no such property (and it is not "required"), so the model is
  never asked for it;
- every call sets it to the ``sub`` of this request's verified token; a value the model put there
  anyway (a prompt-injected conversation) is overwritten, logged as an event without the value,
  and recorded on the turn's span (``customer_support.identity_argument_overridden``).

Context arguments (the spec's ``context_arguments``: ``session_id``, ``trace_id``) are handled
alike for a tool whose schema declares them: hidden from the model, set to this turn's session id
and trace id (what the write tools' audit records), whatever the model put there.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

from confirm import CONFIRM_KEY, TurnConfirm
from mcp.types import Tool as MCPTool
from strands.tools.mcp.mcp_agent_tool import MCPAgentTool
from strands.types._events import ToolResultEvent
from strands.types.tools import ToolResult, ToolUse

from mcp_client.client import HopTurn
from mcp_client.errors import HopError
from mcp_client.spec import HopSpec
from mcp_client.status import HOPS_KEY, HopState, HopStatus
from telemetry import DENIED, OVERRIDDEN, TRACE_KEY, TurnRecord

logger = logging.getLogger(__name__)

SIGN_IN_TEXT = "This needs you to sign in. Please sign in and ask again."
OVERRIDE_EVENT = OVERRIDDEN
DENIED_EVENT = DENIED
# A tool error meaning "the policy refused": the local gateway's text, and the names AgentCore's
# documentation gives a policy denial (its exact MCP wording is not confirmed: docs/account-tools.md).
_DENIAL = re.compile(r"access denied|not permit|authorizationerror|accessdenied", re.IGNORECASE)


def without_argument(schema: dict[str, Any], argument: str) -> dict[str, Any]:
    """A copy of a JSON schema with `argument` removed from its properties and from "required"."""
    stripped = copy.deepcopy(schema)
    properties = stripped.get("properties")
    if isinstance(properties, dict):
        properties.pop(argument, None)
    required = stripped.get("required")
    if isinstance(required, list):
        stripped["required"] = [name for name in required if name != argument]
    return stripped


class HopTool(MCPAgentTool):
    """A hop's tool; see the module docstring for identity arguments."""

    def __init__(self, mcp_tool: MCPTool, spec: HopSpec) -> None:
        schema = mcp_tool.input_schema if isinstance(mcp_tool.input_schema, dict) else {}
        argument = spec.identity_argument
        properties = schema.get("properties", {})
        self.identity_argument = argument if argument and argument in properties else None
        self.context_arguments = tuple(name for name in spec.context_arguments if name in properties)
        shown = mcp_tool
        for hidden in (
            *([self.identity_argument] if self.identity_argument else []),
            *self.context_arguments,
        ):
            schema = without_argument(schema, hidden)
            shown = mcp_tool.model_copy(update={"input_schema": schema})
        timeout = timedelta(seconds=spec.limits.timeout_seconds)
        super().__init__(shown, mcp_client=None, timeout=timeout)  # type: ignore[arg-type]
        self.spec = spec

    async def stream(
        self, tool_use: ToolUse, invocation_state: dict[str, Any], **kwargs: Any
    ) -> AsyncGenerator[ToolResultEvent, None]:
        """Yield the tool's result; any failure of the hop becomes its "unavailable" text."""
        state = (invocation_state.get(HOPS_KEY) or {}).get(self.spec.key)
        turn: HopTurn | None = state.turn if isinstance(state, HopState) else None
        if turn is None:
            status = state.status if isinstance(state, HopState) else HopStatus.UNAVAILABLE
            text = SIGN_IN_TEXT if status is HopStatus.SIGN_IN_REQUIRED else self.spec.unavailable_text
            yield ToolResultEvent(_error(tool_use, text))
            return
        arguments = dict(tool_use["input"]) if isinstance(tool_use["input"], dict) else {}
        if self.identity_argument is not None:
            if not turn.subject:  # a caller-token hop always has one; refuse rather than guess
                yield ToolResultEvent(_error(tool_use, self.spec.unavailable_text))
                return
            if self.identity_argument in arguments:
                self._note_override(invocation_state.get(TRACE_KEY))
            arguments[self.identity_argument] = turn.subject
        for name in self.context_arguments:
            arguments.pop(name, None)  # never the model's value
        arguments.update(self._context(invocation_state))
        try:
            result = await turn.call_tool(tool_use["toolUseId"], self.mcp_tool.name, arguments)
        except HopError as err:
            logger.warning("%s tool %s failed: %s", self.spec.name, self.mcp_tool.name, err)
            result = _error(tool_use, self.spec.unavailable_text)
        if result["status"] == "error" and any(_DENIAL.search(c.get("text", "")) for c in result["content"]):
            self._note_denial(invocation_state.get(TRACE_KEY))
        yield ToolResultEvent(result)

    def _note_denial(self, record: object) -> None:
        logger.warning("%s denied a call to %s (policy)", self.spec.name, self.mcp_tool.name)
        if isinstance(record, TurnRecord):
            record.span.add_event(DENIED_EVENT, {"gen_ai.tool.name": self.mcp_tool.name})

    def _context(self, invocation_state: dict[str, Any]) -> dict[str, str]:
        """This turn's session id and trace id, for the context arguments the tool declares."""
        if not self.context_arguments:
            return {}
        confirm, record = invocation_state.get(CONFIRM_KEY), invocation_state.get(TRACE_KEY)
        # No tracer provider (tracing off) gives the invalid all-zero context: no trace id then,
        # rather than one that would tie every such write to every other.
        span = record.span.get_span_context() if isinstance(record, TurnRecord) else None
        values = {
            "session_id": confirm.session if isinstance(confirm, TurnConfirm) else None,
            "trace_id": f"{span.trace_id:032x}" if span is not None and span.is_valid else None,
        }
        return {name: value for name in self.context_arguments if (value := values.get(name))}

    def _note_override(self, record: object) -> None:
        # Never the value: it may be another customer's id, or whatever an injected prompt wrote.
        logger.warning(
            "model supplied %s to %s; replaced by the caller's verified identity",
            self.identity_argument,
            self.mcp_tool.name,
        )
        if isinstance(record, TurnRecord):
            attributes = {"gen_ai.tool.name": self.mcp_tool.name, "argument": str(self.identity_argument)}
            record.span.add_event(OVERRIDE_EVENT, attributes)


def _error(tool_use: ToolUse, message: str) -> ToolResult:
    return {"toolUseId": tool_use["toolUseId"], "status": "error", "content": [{"text": message}]}
