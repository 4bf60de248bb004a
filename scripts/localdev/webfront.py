"""The local web front: serves the built web chat and, on the same origin, the local front door.

- ``GET /`` and the bundle: ``app/WebChat/dist`` (``scripts/build-webchat.sh`` builds it);
- ``GET /config.json``: what the app needs to sign in and where to send messages;
- ``/invocations``: the local front door itself (scripts/localdev/frontdoor.py's
  ``build_invocations``, one implementation for both): CORS for the app's origin only, then, when
  ``auth`` is given, the authorizer and the per-user throttle and daily quota under the template's
  parameter names (429 + ``Retry-After`` + JSON), then the agent with only ``Authorization``, the
  session-id header and the JSON body; the answer streams back unbuffered.

That is the deployed shape too: CloudFront serves the app and routes ``/invocations`` through API
Gateway's policy to the runtime.

Run: ``python -m scripts.localdev.webfront --agent URL --config FILE [--dist DIR] [--port N]
[--parameter ThrottleRateLimit=2 ...]``; with ``AUTH_DISCOVERY_URL`` (and ``AUTH_ALLOWED_CLIENTS``,
``FRONTDOOR_SCOPE``) set, the front-door policy is on.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scripts.localdev.paths import REPO

if TYPE_CHECKING:
    from scripts.localdev.frontdoor import Limits
    from settings import AuthSettings

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
MAX_BODY_BYTES = 64 * 1024  # a prompt is at most a few thousand characters
# An answer may take a while between pieces (tool calls); connecting is bounded by the front door.
READ_TIMEOUT = 120.0
# The agent gets a JSON body and may answer with a stream, whatever the browser sent.
AGENT_HEADERS = {"content-type": "application/json", "accept": "text/event-stream, application/json"}
DEFAULT_DIST = REPO / "app" / "WebChat" / "dist"


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class SecurityHeaders:
    """Adds a strict Content-Security-Policy and friends to every response.

    The app's own responses (the page, its bundle, config.json) get ``Cache-Control: no-store``
    unless they set their own: no copy of the page is kept by the browser's caches once the
    customer leaves. The streamed answers of ``relay_path`` keep the agent's headers (a POST's
    answer is not cached anyway; Chromium reports a no-store fetch stream read to its end as
    aborted).
    """

    def __init__(self, app: ASGIApp, connect_origins: list[str], relay_path: str = "/invocations") -> None:
        self.app = app
        self.relay_path = relay_path
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
        """Add the security headers to every HTTP response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        relayed = scope["path"] == self.relay_path

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not relayed and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = [*headers, *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_webfront(
    agent_url: str,
    app_config: dict[str, Any],
    dist: Path = DEFAULT_DIST,
    app_origin: str | None = None,
    auth: AuthSettings | None = None,
    limits: Limits | None = None,
    edge_key: bytes | None = None,
) -> Starlette:
    """The web front's ASGI app.

    ``app_origin``: the origin CORS admits on ``/invocations`` (default: none besides same-origin
    use, which needs no CORS). ``auth``: the front door's authorizer and per-user ``limits``; None
    relays without them (the agent's own authorizer still decides).
    """
    from scripts.localdev.frontdoor import build_invocations  # puts the agent code on sys.path

    if not (dist / "index.html").is_file():
        raise FileNotFoundError(f"{dist} has no index.html: run scripts/build-webchat.sh first")
    frontdoor = build_invocations(
        agent_url,
        app_origin,
        auth,
        limits,
        read_timeout=READ_TIMEOUT,
        max_body=MAX_BODY_BYTES,
        fixed_headers=AGENT_HEADERS,
        edge_key=edge_key,
    )
    config_body = json.dumps(app_config)

    async def config(request: Request) -> Response:
        return Response(config_body, media_type="application/json", headers={"cache-control": "no-store"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await frontdoor.state.proxy.aclose()

    return Starlette(
        routes=[
            Route("/config.json", config, methods=["GET"]),
            # An ASGI app as endpoint: the front door sees the path unchanged and answers every
            # method itself (POST, CORS preflights, 405).
            Route("/invocations", frontdoor),
            Mount("/", StaticFiles(directory=dist, html=True)),
        ],
        middleware=[Middleware(SecurityHeaders, connect_origins=_connect_origins(app_config))],
        lifespan=lifespan,
    )


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
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a front-door limit (scripts/deploy/frontdoor.yaml's names), e.g. QuotaLimitPerDay=50",
    )
    args = parser.parse_args(argv)

    from scripts.localdev.edge_authorizer import edge_key_from_env
    from scripts.localdev.frontdoor import Limits, auth_settings_from_env
    from scripts.localdev.serving import bind_loopback, serve_on

    pairs = dict(p.split("=", 1) for p in args.parameter if "=" in p)
    if len(pairs) != len(args.parameter):
        parser.error("--parameter takes NAME=VALUE")
    try:
        limits = Limits.from_parameters(pairs)
        auth = auth_settings_from_env(os.environ) if os.environ.get("AUTH_DISCOVERY_URL") else None
    except ValueError as err:
        parser.error(str(err))
    sock = bind_loopback(args.port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = json.loads(args.config.read_text())
    edge_key = edge_key_from_env(os.environ)
    app = build_webfront(
        args.agent, config, args.dist, app_origin=url, auth=auth, limits=limits, edge_key=edge_key
    )
    print(f"webchat_url: {url}/", flush=True)
    if args.ready_file:
        args.ready_file.write_text(json.dumps({"webchat_url": f"{url}/"}))
    serve_on(app, sock)


if __name__ == "__main__":
    main()
