"""ASGI helpers so the agent and the local gateway enforce tokens with the same code."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from auth.verifier import AuthError, Identity, JwtVerifier

Send = Callable[[dict[str, Any]], Awaitable[None]]


async def identify_scope(verifier: JwtVerifier, scope: Mapping[str, Any]) -> Identity:
    """The caller of an HTTP scope, from its Authorization header (AuthError if refused)."""
    values = [v for k, v in scope.get("headers", []) if k.lower() == b"authorization"]
    if len(values) > 1:
        # Proxies and frameworks disagree on which copy wins: refuse rather than pick one.
        raise AuthError(400, "Send exactly one Authorization header")
    return await verifier.identify(values[0].decode("latin-1") if values else None)


async def send_json(
    send: Send, status: int, body: dict[str, Any], extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A complete JSON response."""
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def send_auth_error(send: Send, err: AuthError, realm: str) -> None:
    """401 with a Bearer challenge, or 403/503, with a short message."""
    extra = [(b"www-authenticate", f'Bearer realm="{realm}"'.encode())] if err.status == 401 else []
    await send_json(send, err.status, {"error": err.message}, extra)
