"""How a hop fails: one error type, and what counts as an outage (no MCP imports)."""

from __future__ import annotations

import asyncio

import httpx2


class HopError(Exception):
    """The hop could not serve this turn (the caller only ever hears "unavailable")."""


def causes(exc: BaseException) -> list[BaseException]:
    """`exc`, its causes and the members of exception groups (anyio task groups wrap errors)."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        stack.extend(getattr(current, "exceptions", ()))
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return seen


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` means the peer is down or hung (timeouts, transport errors, 5xx)."""
    for cause in causes(exc):
        if isinstance(cause, (TimeoutError, asyncio.TimeoutError, httpx2.TransportError, OSError)):
            return True
        if isinstance(cause, httpx2.HTTPStatusError) and cause.response.status_code >= 500:
            return True
    return False


def describe(exc: BaseException) -> str:
    """A log line naming the failure's types only (exception text may carry request details)."""
    names = [type(c).__name__ for c in causes(exc) if not isinstance(c, asyncio.CancelledError)]
    return ", ".join(dict.fromkeys(names)) or type(exc).__name__
