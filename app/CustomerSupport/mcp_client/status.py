"""What the agent may say about its MCP hops (no MCP imports: loaded on every turn)."""

from __future__ import annotations

import enum
import hashlib

TURN_KEY = "customersupport_gateway_turn"
STATUS_KEY = "customersupport_gateway_status"
WEB_TURN_KEY = "customersupport_web_search_turn"
WEB_STATUS_KEY = "customersupport_web_search_status"


class GatewayStatus(enum.Enum):
    """What the agent can tell the caller about a hop (warranty service, web search) this turn."""

    NOT_CONFIGURED = "not configured"
    SIGN_IN_REQUIRED = "sign-in required"
    UNAVAILABLE = "unavailable"
    AVAILABLE = "available"


def fingerprint(token: str) -> str:
    """A stable, non-reversible key for a token (tokens themselves are never stored as keys)."""
    return hashlib.sha256(token.encode()).hexdigest()
