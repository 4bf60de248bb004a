#!/usr/bin/env python3
"""CustomerSupport agent: AgentCore Runtime entrypoint.

The runtime starts a CodeZip agent by running this file as a script (the synthesized entry point
is ``opentelemetry-instrument main.py``), so it serves on 0.0.0.0:8080 (``PORT``/``HOST``
override) and stops cleanly on SIGTERM. ``agentcore dev`` imports ``app`` with uvicorn instead.

Every request is authenticated and validated by ``guard.InvocationGuard`` before this code
runs; the entrypoint streams the agent's answer as text events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from bedrock_agentcore.runtime import BedrockAgentCoreApp
from bedrock_agentcore.runtime.context import RequestContext

from auth.edge import EdgeGrantGate
from guard import (
    STATE_CAN_CONFIRM,
    STATE_CONFIRM,
    STATE_IDENTITY,
    STATE_PROMPT,
    STATE_SESSION,
    InvocationGuard,
)
from settings import ServerSettings, Settings, load_server_settings, load_settings

if TYPE_CHECKING:  # the service pulls in Strands; import it on first request, not at start-up
    from auth import Identity
    from feedback import FeedbackDesk
    from service import SupportService

# The SDK app's own logger (BedrockAgentCoreApp.logger), named here so every function below can use it.
log = logging.getLogger("bedrock_agentcore.app")
_settings: Settings | None = None  # read once: at start-up (main or lifespan), else on first use
_service: SupportService | None = None
_service_lock = threading.Lock()
_desk: FeedbackDesk | None = None


def get_service() -> SupportService:
    """The process-wide service, created on first request (no I/O at import time)."""
    global _service
    with _service_lock:
        if _service is None:
            from service import SupportService

            _service = SupportService(_settings or load_settings())
        return _service


def get_desk() -> FeedbackDesk:
    """The process-wide feedback desk (answer ratings), created on first use."""
    global _desk
    service = get_service()
    with _service_lock:
        if _desk is None:
            from feedback import FeedbackDesk

            s = service.settings
            _desk = FeedbackDesk(s.feedback, s.region, service.tracer, s.session_cache_size)
        return _desk


async def handle_feedback(body: bytes, identity: Identity, session_id: str | None) -> Any:
    """The guard's hook: the reply to a rating body, or None for a prompt."""
    return await get_desk().handle(body, identity, session_id)


async def close_service(timeout_seconds: float) -> None:
    """End the service's gateway sessions (it hands the work to the loop that owns them), bounded."""
    if _desk is not None:
        _desk.close()
    if _service is None:
        return
    try:
        await asyncio.wait_for(_service.close(), timeout_seconds)
    except Exception:
        log.warning("gateway clients were not closed within %.1f s", timeout_seconds, exc_info=True)


class ConfigurationError(Exception):
    """The environment cannot configure the agent; start-up stops with this message."""


@contextlib.asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Check the configuration before serving (the first request builds the service); close on shutdown."""
    global _settings
    try:
        _settings = _settings or load_settings()
    except ValueError as err:
        # However the server was started (python main.py, uvicorn main:app, agentcore dev), a
        # misconfiguration stops start-up with its reason instead of failing every request.
        log.error("configuration error: %s", err)
        raise ConfigurationError(str(err)) from None
    yield
    await close_service(ServerSettings.close_timeout_seconds)


app = BedrockAgentCoreApp(lifespan=lifespan)
# Added first, so it runs inside the guard: customer tokens need the front door's grant (auth/edge.py).
app.add_middleware(EdgeGrantGate, service=get_service, identity_key=STATE_IDENTITY)
app.add_middleware(InvocationGuard, service=get_service, feedback=handle_feedback)


@app.entrypoint
async def invoke(payload: dict[str, Any], context: RequestContext) -> AsyncIterator[object]:
    """Stream the answer to ``{"prompt": "<text>"}`` (or a ``confirm`` decision) for the verified caller."""
    state = context.request.scope.get("state", {}) if context.request is not None else {}
    identity = state.get(STATE_IDENTITY)
    if identity is None:  # the guard did not run: refuse rather than guess an identity
        from service import ERROR_MESSAGE

        log.error("request reached the entrypoint without a verified identity")
        yield {"error": ERROR_MESSAGE}
        return
    session_id = state[STATE_SESSION]
    turn = (
        state[STATE_PROMPT],
        identity,
        session_id,
        state.get(STATE_CONFIRM),
        state.get(STATE_CAN_CONFIRM, False),
    )
    async for chunk in get_desk().track(get_service().stream(*turn), identity, session_id):
        yield chunk


def main() -> int:
    """Serve as the AgentCore Runtime expects; returns the exit code."""
    global _settings
    try:
        server = load_server_settings()
        _settings = load_settings()  # a misconfiguration stops start-up with its message, no traceback
    except ValueError as err:
        print(f"main.py: configuration error: {err}", file=sys.stderr)
        return 2
    app.run(
        host=server.host,
        port=server.port,
        timeout_graceful_shutdown=server.shutdown_grace_seconds,
        log_level="info",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
