"""The local web front: serves the built web chat and passes ``/invocations`` to the agent.

- ``GET /`` and the bundle: ``app/WebChat/dist`` (``scripts/build-webchat.sh`` builds it);
- ``GET /config.json``: what the app needs to sign in and where to send messages;
- ``POST /invocations``: forwarded to the agent with only ``Authorization``, the session-id
  header and the JSON body; the answer streams back unbuffered, chunk by chunk as it arrives.

CORS admits only the app's own origin. The ASGI app comes from ``build_webfront`` so other
policy (rate limits, a stricter CORS policy) can wrap it as middleware.

Run: ``python -m scripts.localdev.webfront --agent URL --config FILE [--dist DIR] [--port N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from scripts.localdev.paths import REPO

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
FORWARDED_HEADERS = ("authorization", SESSION_HEADER.lower())
PASSED_BACK_HEADERS = ("content-type", "www-authenticate", "retry-after")
MAX_BODY_BYTES = 64 * 1024  # a prompt is at most a few thousand characters
# Connecting to the agent must be quick; an answer may take a while between pieces (tool calls).
AGENT_TIMEOUT = httpx.Timeout(connect=5.0, read=120.0, write=10.0, pool=5.0)
DEFAULT_DIST = REPO / "app" / "WebChat" / "dist"


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class SecurityHeaders:
    """Adds a strict Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp, connect_origins: list[str]) -> None:
        self.app = app
        connect = " ".join(["'self'", *connect_origins])
        self.headers = [
            (b"content-security-policy", (
                f"default-src 'self'; script-src 'self'; style-src 'self'; connect-src {connect}; "
                "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
            ).encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"x-content-type-options", b"nosniff"),
        ]  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_webfront(
    agent_url: str, app_config: dict[str, Any], dist: Path = DEFAULT_DIST, app_origin: str | None = None
) -> Starlette:
    """The web front's ASGI app. ``app_origin``: the origin CORS admits (default: none besides
    same-origin use, which needs no CORS).
    """
    if not (dist / "index.html").is_file():
        raise FileNotFoundError(f"{dist} has no index.html: run scripts/build-webchat.sh first")
    invocations_url = agent_url.rstrip("/") + "/invocations"
    client = httpx.AsyncClient(timeout=AGENT_TIMEOUT)
    config_body = json.dumps(app_config)

    async def config(request: Request) -> Response:
        return Response(config_body, media_type="application/json", headers={"cache-control": "no-store"})

    async def invocations(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": "Message too long"}, status_code=413)
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        headers["content-type"] = "application/json"
        headers["accept"] = "text/event-stream, application/json"
        upstream_request = client.build_request("POST", invocations_url, content=body, headers=headers)
        try:
            upstream = await client.send(upstream_request, stream=True)
        except httpx.HTTPError:
            return JSONResponse({"error": "The support service is unavailable"}, status_code=502)
        passed = {k: upstream.headers[k] for k in PASSED_BACK_HEADERS if k in upstream.headers}
        return StreamingResponse(
            _relay(upstream),
            status_code=upstream.status_code,
            headers={**passed, "cache-control": "no-store", "x-accel-buffering": "no"},
            background=BackgroundTask(upstream.aclose),
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    allowed = [app_origin] if app_origin else []
    return Starlette(
        routes=[
            Route("/config.json", config, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
            Mount("/", StaticFiles(directory=dist, html=True)),
        ],
        middleware=[
            Middleware(SecurityHeaders, connect_origins=_connect_origins(app_config)),
            Middleware(
                CORSMiddleware,
                allow_origins=allowed,
                allow_methods=["POST"],
                allow_headers=["authorization", "content-type", SESSION_HEADER.lower()],
                max_age=600,
            ),
        ],
        lifespan=lifespan,
    )


async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
    """The agent's bytes as they arrive; a broken upstream just ends the stream."""
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.HTTPError:
        return


def _connect_origins(app_config: dict[str, Any]) -> list[str]:
    """Origins the page may call besides itself: the issuer, the hosted UI, the endpoint."""
    origins = []
    for key in ("issuer", "domain", "endpoint"):
        value = str(app_config.get(key) or "")
        if value.startswith(("http://", "https://")):
            origins.append(origin_of(value))
    return sorted(set(origins))


def main(argv: list[str] | None = None) -> None:
    """Serve the web front until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", required=True, help="the agent's base URL (http://127.0.0.1:PORT)")
    parser.add_argument("--config", type=Path, required=True, help="the app's config.json")
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST, help="the built app")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--ready-file", type=Path, help="write the URL here as JSON once serving")
    args = parser.parse_args(argv)

    from scripts.localdev.serving import bind_loopback, serve_on

    sock = bind_loopback(args.port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = build_webfront(args.agent, json.loads(args.config.read_text()), args.dist, app_origin=url)
    print(f"webchat_url: {url}/", flush=True)
    if args.ready_file:
        args.ready_file.write_text(json.dumps({"webchat_url": f"{url}/"}))
    serve_on(app, sock)


if __name__ == "__main__":
    main()
