"""CustomerSupport agent: AgentCore Runtime entrypoint.

Every request is authenticated and validated by ``guard.InvocationGuard`` before this code
runs; the entrypoint streams the agent's answer as text events.
"""

from __future__ import annotations

import threading

from bedrock_agentcore.runtime import BedrockAgentCoreApp
from bedrock_agentcore.runtime.context import RequestContext

from guard import STATE_IDENTITY, STATE_PROMPT, STATE_SESSION, InvocationGuard
from service import ERROR_MESSAGE, SupportService
from settings import load_settings

_service: SupportService | None = None
_service_lock = threading.Lock()


def get_service() -> SupportService:
    """The process-wide service, created on first request (no I/O at import time)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = SupportService(load_settings())
        return _service


app = BedrockAgentCoreApp()
app.add_middleware(InvocationGuard, service=get_service)
log = app.logger


@app.entrypoint
async def invoke(payload: dict, context: RequestContext):
    """Stream the answer to ``{"prompt": "<text>"}`` for the verified caller."""
    state = context.request.scope.get("state", {}) if context.request is not None else {}
    identity = state.get(STATE_IDENTITY)
    if identity is None:  # the guard did not run: refuse rather than guess an identity
        log.error("request reached the entrypoint without a verified identity")
        yield {"error": ERROR_MESSAGE}
        return
    async for chunk in get_service().stream(state[STATE_PROMPT], identity, state[STATE_SESSION]):
        yield chunk
