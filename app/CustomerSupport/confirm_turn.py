"""A turn's side of the confirmation protocol (confirm.py): what the agent gets, what is streamed.

- ``begin``: a confirmation decision becomes the Strands interrupt response that resumes the
  paused turn (an ``Approval`` of the pending action's digest, or a refusal), if and only if the
  pending action of this very sub and session has that id and has not expired; a prompt instead
  supersedes any pending action (nothing is written) and clears the paused state.
- ``finish``: a turn that stopped for our interrupt becomes a pending action and a confirmation
  event; a write refused because the client cannot confirm gets a plain notice.
- ``audit``: every action of the turn and its outcome as span events (no free text, no token).

Strands keeps the paused state on the agent (``_interrupt_state``, which has no public reader);
``paused``/``clear_pause`` are the only two places that touch it.
"""

from __future__ import annotations

from typing import Any

from confirm import (
    CLI_NOTICE,
    INTERRUPT_NAME,
    Approval,
    ConfirmDecision,
    PendingActions,
    TurnConfirm,
)
from opentelemetry.trace import Span

from telemetry import ACTION_OUTCOME

ACTION_EVENT = "customer_support.action"
EXPIRED_TEXT = "That confirmation is no longer valid (it expired or was already answered). Nothing was done."
SIGN_IN_TEXT = "Please sign in to confirm an action."


def paused(agent: Any) -> bool:
    """Whether the agent waits for interrupt responses."""
    state = getattr(agent, "_interrupt_state", None)
    return bool(getattr(state, "activated", False))


def clear_pause(agent: Any) -> None:
    """Leave the paused state without running anything (Strands then closes the open tool use)."""
    state = getattr(agent, "_interrupt_state", None)
    if state is not None and state.activated:
        state.deactivate()


def outcome_event(ident: str, outcome: str) -> dict[str, Any]:
    """The streamed answer to a decision: approved, declined or expired."""
    return {"confirmation_outcome": {"id": ident, "outcome": outcome}}


def begin(
    pending: PendingActions,
    agent: Any,
    turn: TurnConfirm,
    prompt: str | None,
    decision: ConfirmDecision | None,
) -> tuple[Any, list[object]]:
    """(What to run the agent with, or None; events to stream first)."""
    if decision is None:
        if turn.sub:
            superseded = pending.drop(turn.sub, turn.session)
            if superseded is not None:
                turn.outcomes.append((superseded.action, "superseded"))
        clear_pause(agent)
        return prompt, []
    if not turn.sub:
        return None, [{"error": SIGN_IN_TEXT}]
    found = pending.take(turn.sub, turn.session, decision.id)
    if found is None or not paused(agent):
        turn.expired = True
        return None, [outcome_event(decision.id, "expired"), EXPIRED_TEXT]
    response: Any = Approval(found.action.digest) if decision.approve else "declined"
    resume = [{"interruptResponse": {"interruptId": found.interrupt_id, "response": response}}]
    return resume, [outcome_event(found.id, "approved" if decision.approve else "declined")]


def finish(pending: PendingActions, agent: Any, result: Any, turn: TurnConfirm) -> list[object]:
    """Events after the agent stopped: a confirmation request, or the notice for a CLI user."""
    events: list[object] = []
    interrupts = list(getattr(result, "interrupts", None) or [])
    ours = next((i for i in interrupts if i.name == INTERRUPT_NAME), None)
    if getattr(result, "stop_reason", None) == "interrupt":
        if ours is not None and turn.requested is not None and turn.sub:
            request = pending.put(turn.sub, turn.session, turn.requested, ours.id)
            turn.outcomes.append((turn.requested, "requested"))
            events.append(request.event())
        else:  # an interrupt nobody can answer: never leave the session stuck in it
            clear_pause(agent)
    if any(outcome == "needs_web_chat" for _, outcome in turn.outcomes):
        events.append(CLI_NOTICE)
    return events


def audit(span: Span, turn: TurnConfirm) -> None:
    """Each action of the turn and its outcome on the turn span."""
    for action, outcome in turn.outcomes:
        span.add_event(ACTION_EVENT, {**action.audit(), ACTION_OUTCOME: outcome})
    if turn.outcomes:
        span.set_attribute(ACTION_OUTCOME, turn.outcomes[-1][1])
    elif turn.expired:
        span.set_attribute(ACTION_OUTCOME, "expired")
