"""The customer confirms, not the model: write tools wait for an approval the customer sends.

Protocol (docs/confirmations.md has the events and payloads):

- A write tool is one its hop spec lists in ``confirm_tools`` (data, not code). When the model
  calls one, ``ConfirmWrites`` (a Strands ``BeforeToolCallEvent`` hook) raises a Strands
  interrupt: the turn stops and the service streams ``{"confirmation": {...}}`` naming the exact
  action, with an opaque random id. Nothing is written.
- The pending action is kept here (``PendingActions``), bound to the caller's verified ``sub``,
  the session id and the SHA-256 digest of the canonical action (tool + arguments, identity
  included). It is single use, expires after ``CONFIRM_TTL_SECONDS`` and at most
  ``MAX_PENDING_PER_USER`` exist per user (``MAX_PENDING`` in all); it is never shared.
- Only a later request of the same sub and session whose body carries
  ``{"confirm": {"id": <id>, "approve": true}}`` resumes the interrupt with an ``Approval`` of that
  digest; the hook runs the tool only if the digest of the call about to run is the same. Text
  never approves: the model sees no id, and a prompt is only ever text.
- Anything else (declining, a new prompt, an expired or unknown id, another write in the same
  step, a client that cannot show a confirmation) writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from strands.hooks import AfterToolCallEvent, BeforeToolCallEvent, HookProvider, HookRegistry

CONFIRM_TTL_SECONDS = 300.0  # a confirmation request is valid this long
MAX_PENDING_PER_USER = 3  # pending actions per sub (over sessions); the oldest gives way
MAX_PENDING = 1024  # pending actions in the process
CONFIRM_KEY = "customersupport_confirm"  # where a turn's TurnConfirm travels in invocation_state
INTERRUPT_NAME = "customer_confirmation"
ID_PATTERN_CHARS = 64  # an id is token_urlsafe(24): 32 characters; anything longer is not ours
# Arguments of an action on its audit record (free text, such as a ticket's summary, never is).
AUDITED_ARGUMENTS = ("order_id", "line", "quantity", "refund_amount")
CONTEXT_ARGUMENTS = ("session_id", "trace_id")  # set by the agent per turn, not part of the action
REFUND_PATH = "original payment method"
# The manifest's refund-limit policy; the gateway's deny text names it (docs/account-tools.md).
REFUND_LIMIT_POLICY = "ReturnsAboveTheLimitNeedAPerson"

NEEDS_WEB_CHAT = (
    "Not done: this action needs the customer's own confirmation, and their app cannot ask for it "
    "(the agentcore CLI sends prompts only). Tell them to use the web chat to do this."
)
CLI_NOTICE = (
    "\n\nThis needs your confirmation, which this app cannot ask for: nothing was done. "
    "Please use the web chat to start a return or open a ticket."
)
DECLINED = "Not done: the customer did not confirm this action."
ONE_AT_A_TIME = "Not done: only one action can wait for the customer's confirmation at a time."


class ConfirmError(ValueError):
    """A ``confirm`` payload we refuse; the message is safe to show the caller."""


@dataclass(frozen=True)
class ConfirmDecision:
    """The customer's answer to one confirmation request, from the request body."""

    id: str
    approve: bool


def parse_decision(value: Any) -> ConfirmDecision:
    """``{"id": "<id>", "approve": true|false}`` as a decision, or ConfirmError."""
    if not isinstance(value, dict) or set(value) != {"id", "approve"}:
        raise ConfirmError('"confirm" must be {"id": "<id>", "approve": true|false}')
    ident, approve = value["id"], value["approve"]
    if not isinstance(ident, str) or not 0 < len(ident) <= ID_PATTERN_CHARS or not isinstance(approve, bool):
        raise ConfirmError('"confirm" must be {"id": "<id>", "approve": true|false}')
    return ConfirmDecision(ident, approve)


@dataclass(frozen=True)
class Action:
    """One write the model asked for, as the customer is shown it and as its digest binds it."""

    tool: str  # the gateway's name, e.g. AccountTools___start_return
    arguments: dict[str, Any]  # what the tool receives (identity included, per-turn context not)

    @property
    def name(self) -> str:
        """The tool's own name (the target prefix removed)."""
        return self.tool.rsplit("___", 1)[-1]

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON of tool + arguments."""
        canonical = json.dumps(
            {"tool": self.tool, "arguments": self.arguments}, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def shown(self) -> dict[str, Any]:
        """What the confirmation request names: every argument but the customer id."""
        shown: dict[str, Any] = {"tool": self.name}
        shown.update({k: v for k, v in self.arguments.items() if k != "customer_id"})
        if "refund_amount" in shown:
            shown["refund_path"] = REFUND_PATH
        return shown

    def audit(self) -> dict[str, str | int | float]:
        """Span attributes: the action without free text (a ticket summary is left out)."""
        found = {k: v for k, v in self.arguments.items() if k in AUDITED_ARGUMENTS}
        attributes = {
            f"customer_support.action.{k}": v for k, v in found.items() if isinstance(v, (str, int, float))
        }
        return {
            "customer_support.action.tool": self.name,
            "customer_support.action.digest": self.digest[:16],
            **attributes,
        }


@dataclass(frozen=True)
class Approval:
    """The interrupt response that lets exactly one action run (made only by the service)."""

    digest: str


@dataclass
class PendingAction:
    """A confirmation request waiting for its customer."""

    id: str
    sub: str
    session: str
    action: Action
    interrupt_id: str
    expires_at: float  # time.monotonic()

    def event(self) -> dict[str, Any]:
        """The streamed confirmation request."""
        seconds = max(0, round(self.expires_at - time.monotonic()))
        return {"confirmation": {"id": self.id, "action": self.action.shown(), "expires_in_seconds": seconds}}


class PendingActions:
    """Pending actions by (sub, session): one per session, bounded per user and in all."""

    def __init__(
        self, ttl_seconds: float = CONFIRM_TTL_SECONDS, per_user: int = MAX_PENDING_PER_USER
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.per_user = per_user
        self._pending: OrderedDict[tuple[str, str], PendingAction] = OrderedDict()

    def put(self, sub: str, session: str, action: Action, interrupt_id: str) -> PendingAction:
        """A new pending action for (sub, session), replacing the session's earlier one."""
        self._expire()
        self._pending.pop((sub, session), None)
        mine = [key for key in self._pending if key[0] == sub]
        for key in mine[: max(0, len(mine) - self.per_user + 1)]:
            del self._pending[key]  # the user's oldest give way: one user never crowds out others
        while len(self._pending) >= MAX_PENDING:
            self._pending.popitem(last=False)
        pending = PendingAction(
            secrets.token_urlsafe(24), sub, session, action, interrupt_id, time.monotonic() + self.ttl_seconds
        )
        self._pending[(sub, session)] = pending
        return pending

    def get(self, sub: str, session: str) -> PendingAction | None:
        """The session's pending action, if any and not expired."""
        self._expire()
        return self._pending.get((sub, session))

    def take(self, sub: str, session: str, ident: str) -> PendingAction | None:
        """Remove and return the session's pending action if `ident` is its id (single use)."""
        pending = self.get(sub, session)
        if pending is None or not secrets.compare_digest(pending.id.encode(), ident.encode()):
            return None
        del self._pending[(sub, session)]
        return pending

    def drop(self, sub: str, session: str) -> PendingAction | None:
        """Forget the session's pending action (a new prompt supersedes it)."""
        return self._pending.pop((sub, session), None)

    def __len__(self) -> int:
        return len(self._pending)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [key for key, p in self._pending.items() if p.expires_at <= now]:
            del self._pending[key]


@dataclass
class TurnConfirm:
    """One turn's confirmation context (what the hook and the tool proxy read)."""

    sub: str | None
    session: str
    can_confirm: bool  # the client shows confirmation requests (the web chat says so)
    requested: Action | None = None  # the action this turn asks the customer to confirm
    requested_id: str | None = None  # its tool use id
    expired: bool = False  # the turn answered a confirmation that was no longer valid
    outcomes: list[tuple[Action, str]] = field(default_factory=list)  # (action, outcome) in order


class ConfirmWrites(HookProvider):
    """Pauses every write tool until the customer approves it; see the module docstring."""

    def __init__(self, confirm_tools: frozenset[str], hidden: tuple[str, ...] = CONTEXT_ARGUMENTS) -> None:
        self.confirm_tools = confirm_tools
        self.hidden = hidden

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Check write tools before they run; note how they ended."""
        registry.add_callback(BeforeToolCallEvent, self._before)
        registry.add_callback(AfterToolCallEvent, self._after)

    def is_write(self, tool: str) -> bool:
        """Whether `tool` (a gateway name) needs the customer's confirmation."""
        return tool.rsplit("___", 1)[-1] in self.confirm_tools

    def action(self, tool_use: Any, sub: str | None) -> Action:
        """The canonical action of a tool use: the identity as the proxy will set it, no context."""
        arguments = dict(tool_use["input"]) if isinstance(tool_use.get("input"), dict) else {}
        for name in self.hidden:
            arguments.pop(name, None)
        arguments["customer_id"] = sub
        return Action(str(tool_use["name"]), arguments)

    def _before(self, event: BeforeToolCallEvent) -> None:
        name = str(event.tool_use.get("name", ""))
        if not self.is_write(name):
            return
        _only_declared_arguments(event)
        turn = event.invocation_state.get(CONFIRM_KEY)
        if not isinstance(turn, TurnConfirm) or not turn.sub:  # no verified caller: nobody to ask
            event.cancel_tool = DECLINED
            return
        action = self.action(event.tool_use, turn.sub)
        if not turn.can_confirm:
            turn.outcomes.append((action, "needs_web_chat"))
            event.cancel_tool = NEEDS_WEB_CHAT
            return
        tool_use_id = str(event.tool_use.get("toolUseId", ""))
        if turn.requested_id not in (None, tool_use_id):  # at most one write per turn
            turn.outcomes.append((action, "refused_one_at_a_time"))
            event.cancel_tool = ONE_AT_A_TIME
            return
        turn.requested, turn.requested_id = action, tool_use_id
        response = event.interrupt(INTERRUPT_NAME, reason=action.shown())  # raises until answered
        if isinstance(response, Approval) and secrets.compare_digest(response.digest, action.digest):
            turn.outcomes.append((action, "approved"))
            return
        # An approval of another digest: the call changed after the customer was asked.
        turn.outcomes.append((action, "mismatch" if isinstance(response, Approval) else "declined"))
        event.cancel_tool = DECLINED

    def _after(self, event: AfterToolCallEvent) -> None:
        turn = event.invocation_state.get(CONFIRM_KEY)
        if not isinstance(turn, TurnConfirm) or not turn.outcomes or event.cancel_message is not None:
            return
        action, outcome = turn.outcomes[-1]
        if outcome == "approved" and action.tool == event.tool_use.get("name"):
            result = event.result if isinstance(event.result, dict) else {}
            done = result.get("status") == "success" and not _error_value(result)
            turn.outcomes[-1] = (action, "executed" if done else "failed")


def _error_value(result: Any) -> bool:
    """Whether a successful tool result is an error value (AccountTools: ``{"error", "error_code"}``)."""
    for item in result.get("content", []):
        try:
            value = json.loads(item.get("text", ""))
        except ValueError:
            continue
        if isinstance(value, dict) and "error" in value:
            return True
    return False


def _only_declared_arguments(event: BeforeToolCallEvent) -> None:
    """Drop arguments the tool's schema (as the model sees it) does not declare, in place.

    The customer is shown every argument of the call; one the schema does not name (a model's
    ``"confirmed": true``, or anything a tool might honour undocumented) is never sent at all.
    """
    tool, arguments = event.selected_tool, event.tool_use.get("input")
    if tool is None or not isinstance(arguments, dict):
        return
    schema = tool.tool_spec.get("inputSchema", {}).get("json", {})
    declared = set(schema.get("properties", {})) if isinstance(schema, dict) else set()
    for name in [name for name in arguments if name not in declared]:
        del arguments[name]
