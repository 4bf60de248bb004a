"""Thumbs up/down on an answer: validated, checked against the caller's own turns, stored, traced.

Protocol (docs/feedback.md):

* When ratings are configured (``FEEDBACK_TABLE_NAME``), an answer's stream ends with one event
  ``{"turn": {"traceId": "<32 hex>"}}``: the trace id of that turn. ``agentcore invoke`` and
  ``agentcore dev`` print only JSON strings, ``text``, ``error`` and content deltas, so their
  output does not change.
* The chat then POSTs ``{"feedback": {"traceId": "<32 hex>", "rating": "up"|"down"}}`` to
  ``/invocations`` with the same bearer token and session header. The guard verifies the token as
  for any request and hands the body here; the reply is JSON: 200 ``{"feedback": {...}}``, 400 bad
  payload, 403 not one of this caller's recent turns in this session, 409 rated from another
  session, 429 past the daily allowance (with ``retryAfterSeconds``), 503 ratings unavailable.

Only the last ``TURNS_PER_SESSION`` turns of the last ``Settings.session_cache_size`` (sub,
session) pairs are remembered (in this process): older answers can no longer be rated. The rating
is recorded as a ``customer_support.feedback`` span in the rated turn's trace (see telemetry.py).
Where no tracer is installed (deployed, the ADOT distro installs one; locally ``TRACE_FILE``) a
turn has no trace id, so it gets a random id of the same form and its rating no span.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from auth import Identity
from feedback_store import FeedbackSettings, FeedbackStore, OtherSession, OverLimit
from telemetry import CURRENT_TURN, TurnTracer

logger = logging.getLogger(__name__)

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
RATINGS = ("up", "down")
TURNS_PER_SESSION = 50
WRITERS = 2  # threads doing the DynamoDB calls; more pending ratings than MAX_PENDING get 503
MAX_PENDING = 16
SHAPE = '{"feedback": {"traceId": "<32 hex digits>", "rating": "up" or "down"}}'

Reply = tuple[int, dict[str, Any]]


class FeedbackError(Exception):
    """A rating we refuse: status and a message safe to show the caller."""

    def __init__(self, status: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}


@dataclass(frozen=True)
class Vote:
    """A validated rating of one turn."""

    trace_id: str
    rating: str


def parse_feedback(payload: object) -> Vote | None:
    """The vote in a request body's JSON, None if it is no feedback body, or FeedbackError (400)."""
    if not isinstance(payload, dict) or "feedback" not in payload:
        return None
    if len(payload) != 1:
        raise FeedbackError(400, f"A feedback body holds only feedback: {SHAPE}")
    body = payload["feedback"]
    if not isinstance(body, dict) or set(body) != {"traceId", "rating"}:
        raise FeedbackError(400, f'"feedback" must be an object with traceId and rating: {SHAPE}')
    trace_id, rating = body["traceId"], body["rating"]
    if not isinstance(trace_id, str) or not TRACE_ID.match(trace_id) or not int(trace_id, 16):
        raise FeedbackError(400, '"traceId" must be the 32 lower-case hex digits the answer ended with')
    if rating not in RATINGS:
        raise FeedbackError(400, '"rating" must be "up" or "down"')
    return Vote(trace_id, rating)


class TurnLedger:
    """Recent turns per (sub, session): trace id -> span id; bounded (LRU) and thread-safe."""

    def __init__(self, max_sessions: int, per_session: int = TURNS_PER_SESSION) -> None:
        self._turns: OrderedDict[tuple[str, str], OrderedDict[str, str]] = OrderedDict()
        self._max_sessions = max_sessions
        self._per_session = per_session
        self._lock = threading.Lock()  # the guard and the answer streams run on different loops

    def remember(self, sub: str, session: str, trace_id: str, span_id: str) -> None:
        """Record that `trace_id` was a turn of `sub` in `session`."""
        with self._lock:
            turns = self._turns.setdefault((sub, session), OrderedDict())
            self._turns.move_to_end((sub, session))
            turns[trace_id] = span_id
            while len(turns) > self._per_session:
                turns.popitem(last=False)
            while len(self._turns) > self._max_sessions:
                self._turns.popitem(last=False)

    def span_of(self, sub: str, session: str, trace_id: str) -> str | None:
        """The recorded span id if `trace_id` is a recent turn of `sub` in `session`, else None."""
        with self._lock:
            turns = self._turns.get((sub, session))
            return turns.get(trace_id) if turns is not None else None


class FeedbackDesk:
    """Tags answers with their trace id and takes ratings of them."""

    def __init__(
        self, settings: FeedbackSettings, region: str | None, tracer: TurnTracer, sessions: int
    ) -> None:
        self.settings = settings
        self._region = region
        self._tracer = tracer
        self.ledger = TurnLedger(sessions)
        self._store: FeedbackStore | None = None
        self._writers: ThreadPoolExecutor | None = None
        self._pending = 0

    @property
    def enabled(self) -> bool:
        """Whether ratings can be stored (a table is configured)."""
        return bool(self.settings.table)

    async def track(
        self, chunks: AsyncIterator[object], identity: Identity, session: str | None
    ) -> AsyncIterator[object]:
        """Pass `chunks` on; then remember the turn and end with its trace id (when rateable)."""
        seen: tuple[str, str] | None = None
        async for chunk in chunks:
            if seen is None:
                # The turn's span is visible here while its generator is suspended at a yield:
                # async generators run in their caller's context (telemetry.CURRENT_TURN).
                turn = CURRENT_TURN.get()
                context = turn.get_span_context() if turn is not None else None
                if context is not None and context.is_valid:
                    seen = (f"{context.trace_id:032x}", f"{context.span_id:016x}")
            yield chunk
        if not (self.enabled and identity.actor_id and session):
            return  # anonymous, no session or no table: nothing could be rated
        if seen is None:  # no tracer installed (a local run without TRACE_FILE): an id all the same
            seen = (secrets.token_hex(16), secrets.token_hex(8))
        self.ledger.remember(identity.actor_id, session, *seen)
        yield {"turn": {"traceId": seen[0]}}

    async def handle(self, body: bytes, identity: Identity, session: str | None) -> Reply | None:
        """The reply to a feedback body, or None when `body` is not one (a prompt, or bad JSON)."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None  # the prompt parser gives the precise error
        try:
            vote = parse_feedback(payload)
            if vote is None:
                return None
            return 200, {"feedback": await self._record(vote, identity, session)}
        except FeedbackError as err:
            return err.status, {"error": err.message, **err.extra}

    async def _record(self, vote: Vote, identity: Identity, session: str | None) -> dict[str, str]:
        if not self.enabled:
            raise FeedbackError(503, "Feedback is not available on this agent")
        sub = identity.actor_id
        if not sub:
            raise FeedbackError(403, "Sign in to rate answers")
        if not session:
            raise FeedbackError(400, "Send the conversation's session id header with feedback")
        span_id = self.ledger.span_of(sub, session, vote.trace_id)
        if span_id is None:
            raise FeedbackError(403, "You can rate only recent answers given to you in this conversation")
        if self._pending >= MAX_PENDING:
            raise FeedbackError(503, "Feedback is busy; try again shortly")
        now = datetime.now(timezone.utc)
        self._pending += 1  # on the server's loop only: no lock needed
        try:
            await self._write(sub, vote, session, now)
        except OverLimit:
            midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), timezone.utc)
            raise FeedbackError(
                429,
                "You have sent today's ratings; you can rate again tomorrow (UTC)",
                {"retryAfterSeconds": int((midnight - now).total_seconds()) + 1},
            ) from None
        except OtherSession:
            raise FeedbackError(409, "This answer was rated in another conversation") from None
        except (BotoCoreError, ClientError, asyncio.TimeoutError, RuntimeError) as err:  # Runtime: shut down
            logger.warning("feedback not stored (%s)", type(err).__name__)  # no text: it may hold data
            raise FeedbackError(503, "Your rating could not be saved; please try again") from None
        finally:
            self._pending -= 1
        self._tracer.feedback(sub, session, vote.trace_id, span_id, vote.rating)
        return {"traceId": vote.trace_id, "rating": vote.rating}

    async def _write(self, sub: str, vote: Vote, session: str, now: datetime) -> None:
        """Store the vote on a writer thread (boto3 blocks), bounded by the client's timeouts."""
        if self._writers is None:
            self._writers = ThreadPoolExecutor(WRITERS, thread_name_prefix="feedback")
        if self._store is None:
            self._store = await asyncio.get_running_loop().run_in_executor(
                self._writers, FeedbackStore, self.settings, self._region
            )
        store = self._store
        # Two calls of at most 2 attempts, each bounded by connect + read timeouts.
        budget = 8 * self.settings.timeout_seconds + 1
        call = asyncio.get_running_loop().run_in_executor(
            self._writers, store.put, sub, vote.trace_id, vote.rating, session, now
        )
        await asyncio.wait_for(call, budget)

    def close(self) -> None:
        """Stop the writer threads (shutdown); a write in progress ends within its timeouts."""
        if self._writers is not None:
            self._writers.shutdown(wait=False, cancel_futures=True)
            self._writers = None
