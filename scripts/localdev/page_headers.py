"""Security headers on every response of the local issuer (its sign-in and sign-up pages above all).

The hosted UI's pages hold a password form: they must not be framed (clickjacking), sniffed, leak
their URL (it carries ``state`` and PKCE parameters) in a Referer, or run any script. Cognito's
Managed Login sends the equivalent; the web chat's page (webfront.py) has its own, stricter for its
scripts. ``form-action`` is left out on purpose: after the sign-in form posts, the answer redirects
to the app's callback on another origin, and browsers apply ``form-action`` to that redirect too.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_HEADERS = [
    (b"content-security-policy", (
        b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'"
    )),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]  # fmt: skip


class PageHeaders:
    """ASGI middleware: adds ``PAGE_HEADERS`` to every HTTP response (replacing any same-named)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response start of every HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        names = {name for name, _ in PAGE_HEADERS}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = [*kept, *PAGE_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
