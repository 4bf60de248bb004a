"""What the agent may say about its MCP hops, and where a turn's hop state travels.

No MCP imports: loaded on every turn.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any

ANONYMOUS = "anonymous"  # the session and listing key of a hop that carries no credential
HOPS_KEY = "customersupport_hops"  # invocation_state key: {hop key: HopState} for this turn


class HopStatus(enum.Enum):
    """What the agent can tell the caller about a hop (warranty service, web search) this turn."""

    NOT_CONFIGURED = "not configured"
    SIGN_IN_REQUIRED = "sign-in required"
    UNAVAILABLE = "unavailable"
    AVAILABLE = "available"


@dataclass(frozen=True)
class HopState:
    """One hop in one turn: its status and, when available, the turn's session with it."""

    status: HopStatus
    turn: Any = None  # client.HopTurn (typed loosely: this module imports no MCP code)


def fingerprint(token: str) -> str:
    """A stable, non-reversible key for a token (tokens themselves are never stored as keys)."""
    return hashlib.sha256(token.encode()).hexdigest()
