"""ASGI middleware in front of ``/invocations``: identity first, then the payload.

Both checks run before any agent code, and every rejection is a short JSON error with the
right status — never exception text. ``/ping`` stays open. A body must arrive completely within
``BODY_TIMEOUT_SECONDS`` (else 408 and the connection is closed) and may nest JSON at most
``max_json_depth`` levels deep.

The SDK streams every answer through a thread of the server's shared pool and answers ``/ping``
from that pool too; so at most ``MAX_CONCURRENT_INVOCATIONS`` answers may be in flight (more get
503 at once) and the pool is sized to keep threads free for ``/ping`` even then.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from confirm import ConfirmDecision, ConfirmError, parse_decision

from auth import AuthError, Identity
from auth.asgi import identify_scope, send_auth_error, send_json

logger = logging.getLogger(__name__)

STATE_IDENTITY = "customersupport.identity"
STATE_PROMPT = "customersupport.prompt"
STATE_SESSION = "customersupport.session_id"
STATE_CONFIRM = "customersupport.confirm"  # a ConfirmDecision, or None for a prompt
STATE_CAN_CONFIRM = "customersupport.can_confirm"
SESSION_HEADER = b"x-amzn-bedrock-agentcore-runtime-session-id"
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
PING_THREADS = 8  # pool threads no answer stream can take: /ping and other short handlers

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
# A rating body's reply (status, JSON), or None when the body is a prompt.
Feedback = Callable[[bytes, Identity, "str | None"], Awaitable["tuple[int, dict[str, Any]] | None"]]


class PayloadError(Exception):
    """A request body we refuse: status and a message safe to show the caller."""

    def __init__(self, status: int, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close  # the connection must not be reused (the body was never read)


def json_depth(value: Any) -> int:
    """How deeply containers nest in `value` (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_invocation(
    body: bytes, max_prompt_chars: int, max_depth: int = 32
) -> tuple[str | None, ConfirmDecision | None, bool]:
    """(prompt, confirmation decision, client can confirm) of a body, or PayloadError.

    A body is ``{"prompt": "<text>", "can_confirm"?: bool}`` or, answering a confirmation request,
    ``{"confirm": {"id": "<id>", "approve": bool}}`` (docs/confirmations.md).
    """
    payload = _json_object(body, max_depth)
    can_confirm = payload.get("can_confirm", False)
    if not isinstance(can_confirm, bool):
        raise PayloadError(400, '"can_confirm" must be true or false')
    if "confirm" not in payload:
        return _prompt(payload, max_prompt_chars), None, can_confirm
    if set(payload) - {"confirm", "can_confirm"}:
        raise PayloadError(400, 'Send either a "prompt" or a "confirm", not both')
    try:
        return None, parse_decision(payload["confirm"]), True
    except ConfirmError as err:
        raise PayloadError(400, str(err)) from None


def parse_payload(body: bytes, max_prompt_chars: int, max_depth: int = 32) -> str:
    """The prompt of an ``{"prompt": "<text>"}`` body, or PayloadError."""
    return _prompt(_json_object(body, max_depth), max_prompt_chars)


def _json_object(body: bytes, max_depth: int) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except RecursionError:  # nesting deeper than the parser's stack
        raise PayloadError(400, f"Body nests JSON deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise PayloadError(400, 'Body must be JSON: {"prompt": "<text>"}') from None
    if json_depth(payload) > max_depth:
        raise PayloadError(400, f"Body nests JSON deeper than {max_depth} levels")
    if not isinstance(payload, dict):
        raise PayloadError(400, 'Body must be a JSON object: {"prompt": "<text>"}')
    return payload


def _prompt(payload: dict[str, Any], max_prompt_chars: int) -> str:
    prompt = payload.get("prompt")
    if prompt is None:
        raise PayloadError(400, 'Missing "prompt"')
    if not isinstance(prompt, str):
        raise PayloadError(400, '"prompt" must be a string')
    if not prompt.strip():
        raise PayloadError(400, '"prompt" must not be empty')
    if len(prompt) > max_prompt_chars:
        raise PayloadError(413, f'"prompt" is longer than {max_prompt_chars} characters')
    return prompt


class InvocationGuard:
    """Authenticates and validates ``POST /invocations`` before the app sees it.

    `service` is a zero-argument callable returning the object that knows the settings and the
    verifier, so configuration is read on first use rather than at import time.
    """

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        service: Callable[[], Any],
        feedback: Feedback | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.feedback = feedback  # answers rating bodies itself (feedback.py); None for prompts
        self._in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check identity and payload of POST /invocations, then hand it on."""
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # no websocket API here
            return
        if scope["type"] != "http" or scope.get("path") != "/invocations":
            await self.app(scope, receive, send)
            return
        try:
            service = self.service()
            settings = service.settings
            identity: Identity = await identify_scope(service.verifier, scope)
            session_values = [v for k, v in scope.get("headers", []) if k.lower() == SESSION_HEADER]
            if len(session_values) > 1:
                raise PayloadError(400, "Send exactly one session id header")
            session_id = _session_id(session_values[0] if session_values else None)
            body = await _read_body(receive, settings.max_body_bytes, settings.body_timeout_seconds)
            reply = await self.feedback(body, identity, session_id) if self.feedback else None
            if reply is not None:
                await send_json(send, *reply)
                return
            prompt, decision, can_confirm = parse_invocation(
                body, settings.max_prompt_chars, settings.max_json_depth
            )
        except AuthError as err:
            await send_auth_error(send, err, realm="CustomerSupport")
            return
        except PayloadError as err:
            extra = [(b"connection", b"close")] if err.close else None
            await send_json(send, err.status, {"error": err.message}, extra)
            return
        except Exception:
            logger.exception("request guard failed")
            await send_json(send, 500, {"error": "The agent could not process this request"})
            return

        limit = settings.max_concurrent_invocations
        if self._in_flight >= limit:
            await send_json(
                send, 503, {"error": "The agent is busy; try again shortly"}, [(b"retry-after", b"1")]
            )
            return
        _reserve_pool_threads(limit + PING_THREADS)
        state = scope.setdefault("state", {})
        state[STATE_IDENTITY] = identity
        state[STATE_PROMPT] = prompt
        state[STATE_CONFIRM] = decision
        state[STATE_CAN_CONFIRM] = can_confirm
        state[STATE_SESSION] = session_id
        self._in_flight += 1  # runs on the server's loop: no lock needed
        try:
            await self.app(scope, _replay(body, receive), send)
        finally:
            self._in_flight -= 1


def _reserve_pool_threads(tokens: int) -> None:
    """Size the server loop's thread pool (anyio's default: 40, which 40 hung streams exhaust)."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    if limiter.total_tokens < tokens:
        limiter.total_tokens = tokens


def _session_id(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    value = raw.decode("latin-1").strip()
    if not _SESSION_ID.match(value):
        raise PayloadError(400, "Invalid session id")
    return value


async def _read_body(receive: Receive, limit: int, timeout_seconds: float) -> bytes:
    try:
        return await asyncio.wait_for(_read_all(receive, limit), timeout_seconds)
    except asyncio.TimeoutError:  # a client trickling or stalling its body holds nothing for long
        raise PayloadError(408, f"Body not received within {timeout_seconds:g} seconds", close=True) from None


async def _read_all(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise PayloadError(400, "Client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadError(413, f"Body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the buffered body to the app once, then pass through (disconnect detection)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
