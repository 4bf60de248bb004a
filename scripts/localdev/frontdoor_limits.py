"""The front door twin's per-user limits: the authorizer's decision, then the usage plan's throttle and quota.

Split from frontdoor.py (which composes it with CORS and the proxy); its docstring describes the
policy. ``limits.ThrottleRateLimit`` and ``ThrottleBurstLimit`` describe API Gateway's token bucket;
the twin approximates it with a moving window of ``burst`` requests per ``burst / rate`` seconds
(same burst, same long-run rate). Counting uses the ``limits`` library (in-memory storage, entries
expire with their window, so state stays bounded).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from scripts.localdev.edge_authorizer import EdgeAuthorizer
from scripts.localdev.paths import agent_code_on_path

agent_code_on_path()

from auth.asgi import send_json  # noqa: E402 - needs the agent code on sys.path

DAY = 86400
STATE_GRANT = "frontdoor.edge_grant"  # where the limits hand the authorizer's grant to the proxy


@dataclass(frozen=True)
class Limits:
    """Per-user limits under the template's parameter names; defaults equal the template's."""

    ThrottleRateLimit: float = 1.0
    ThrottleBurstLimit: int = 5
    QuotaLimitPerDay: int = 200

    @classmethod
    def from_parameters(cls, values: Mapping[str, str]) -> Limits:
        """Build from ``Name=value`` strings (as given to ``--parameter`` or the deploy script)."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}; known: {', '.join(known)}")
        parsed: dict[str, Any] = {}
        for name, raw in values.items():
            try:
                parsed[name] = float(raw) if known[name] == "float" else int(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number, got {raw!r}") from None
        limits = cls(**parsed)
        if limits.ThrottleRateLimit <= 0 or limits.ThrottleBurstLimit < 1 or limits.QuotaLimitPerDay < 1:
            raise ValueError("ThrottleRateLimit must be > 0, ThrottleBurstLimit and QuotaLimitPerDay >= 1")
        return limits

    def throttle_item(self) -> RateLimitItem:
        """``burst`` requests per ``burst / rate`` seconds: the token bucket's burst and long-run rate."""
        window = max(1, round(self.ThrottleBurstLimit / self.ThrottleRateLimit))
        return RateLimitItemPerSecond(self.ThrottleBurstLimit, window)

    def quota_item(self) -> RateLimitItem:
        """``QuotaLimitPerDay`` per day (the caller keys it by UTC date, as ``Quota.Period: DAY``)."""
        return RateLimitItemPerDay(self.QuotaLimitPerDay)


class PerUserLimits:
    """ASGI middleware: the authorizer's decision, then the throttle and the quota of the ``sub``."""

    def __init__(self, app: ASGIApp, authorizer: EdgeAuthorizer, limits: Limits) -> None:
        self.app = app
        self.authorizer = authorizer
        self.limits = limits
        storage = MemoryStorage()
        self._throttle = MovingWindowRateLimiter(storage)
        self._quota = FixedWindowRateLimiter(storage)
        self._throttle_item = limits.throttle_item()
        self._quota_item = limits.quota_item()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Throttle and count real requests per verified user; 429 over a limit."""
        # Preflights never reach here (CORSMiddleware answers them); only real requests count.
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        values = [v for k, v in scope.get("headers", []) if k.lower() == b"authorization"]
        if len(values) > 1:  # proxies disagree on which copy wins: refuse rather than pick one
            await send_json(send, 400, {"message": "Send exactly one Authorization header"})
            return
        decision = await self.authorizer.decide(values[0].decode("latin-1") if values else None)
        if decision.status != 200:
            await send_json(send, decision.status, decision.body)
            return
        refusal = await self._consume(decision.sub)
        if refusal is not None:
            message, retry_after = refusal
            headers = [(b"retry-after", str(retry_after).encode())]
            await send_json(send, 429, {"message": message, "retryAfterSeconds": retry_after}, headers)
            return
        if decision.grant is not None:
            scope.setdefault("state", {})[STATE_GRANT] = decision.grant
        await self.app(scope, receive, send)

    async def _consume(self, sub: str) -> tuple[str, int] | None:
        """Count one request for `sub`; (message, seconds to wait) when a limit refuses it."""
        if not await self._throttle.hit(self._throttle_item, "throttle", sub):
            return "Too Many Requests", await _retry_after(
                self._throttle, self._throttle_item, "throttle", sub
            )
        # limits' fixed window starts at the first hit; keying it by the UTC date makes it a calendar
        # day like the usage plan's (the old day's entry simply expires).
        now = int(time.time())
        if not await self._quota.hit(self._quota_item, "quota", str(now // DAY), sub):
            return "Limit Exceeded", DAY - now % DAY
        return None


async def _retry_after(limiter: Any, item: RateLimitItem, *key: str) -> int:
    """Whole seconds until `limiter` admits one more request for `key` (at least 1)."""
    stats = await limiter.get_window_stats(item, *key)
    return max(1, math.ceil(stats.reset_time - time.time()))
