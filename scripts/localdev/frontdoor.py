"""The local twin of the public front door (scripts/deploy/frontdoor.yaml): the API Gateway policy as ASGI.

What it does, in the order a request meets it:

1. CORS (starlette ``CORSMiddleware``) for exactly one origin, the web chat's; a preflight from any
   other origin is refused (400) and no ``Access-Control-Allow-Origin`` is sent to it.
2. Authorizer: the deployed Lambda authorizer's own code decides (scripts/localdev/edge_authorizer.py
   runs app/FrontDoorAuthorizer/handler.py): the same statuses and bodies as API Gateway + that
   function (401 for a missing, malformed or invalid token, 403 for a genuine token not for this
   API, 500 when the JWKS is unreachable), the same case-sensitive ``Bearer`` pattern. With an
   edge-grant key (``EDGE_GRANT_KEYS``, as the agent) the request reaches the agent with the
   function's single-use grant, so customers cannot skip these limits by calling the agent directly.
3. Per-user limits keyed by the verified token's ``sub`` (never by anything the client states):
   a throttle (``ThrottleRateLimit`` requests/second sustained, ``ThrottleBurstLimit`` at once) and
   a quota (``QuotaLimitPerDay`` requests per UTC day), the template's parameter names and defaults.
   Over a limit → 429, a ``Retry-After`` header and ``{"message": ...}`` (API Gateway's body
   shape); other users are unaffected (frontdoor_limits.py).
4. ``POST /invocations`` is proxied to ``{upstream}/invocations`` forwarding only ``Authorization``
   and the session-id header (plus the grant), and streamed back chunk by chunk (never buffered).
   Every wait is bounded: the request body must arrive within ``BODY_TIMEOUT`` (else 408, the
   agent's own bound), connect ``CONNECT_TIMEOUT``, the gap between two streamed chunks
   ``READ_TIMEOUT`` (a turn may last longer in total, as with ``ResponseTransferMode: STREAM``).

The throttle approximates API Gateway's token bucket (frontdoor_limits.py). README.md lists the rest.

Run: ``python -m scripts.localdev.frontdoor --upstream http://127.0.0.1:8080 --origin
http://127.0.0.1:5173 [--port N] [--parameter ThrottleRateLimit=2 ...]`` (AUTH_* variables, as for
the agent, choose the issuer and the allowed clients; ``EDGE_GRANT_KEYS`` the grant key).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from scripts.localdev.edge_authorizer import EdgeAuthorizer, edge_key_from_env
from scripts.localdev.frontdoor_limits import STATE_GRANT, PerUserLimits
from scripts.localdev.frontdoor_limits import Limits as Limits  # its old home: importers keep working
from scripts.localdev.paths import agent_code_on_path

agent_code_on_path()

from auth.edge import EDGE_GRANT_HEADER  # noqa: E402 - needs the agent code on sys.path
from settings import AuthSettings  # noqa: E402

logger = logging.getLogger("localdev.frontdoor")

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
# The only request headers that reach the agent (the template maps the same two).
FORWARDED_REQUEST_HEADERS = ("authorization", SESSION_HEADER.lower())
# Response headers worth passing back; hop-by-hop and server details are dropped.
FORWARDED_RESPONSE_HEADERS = (
    "content-type", "cache-control", "www-authenticate", "retry-after", SESSION_HEADER.lower(),
)  # fmt: skip
DEFAULT_SCOPE = "customersupport/invoke"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 300.0  # longest silence between two streamed chunks (a tool call, a slow model)
WRITE_TIMEOUT = 30.0
BODY_TIMEOUT = 10.0  # the agent's BODY_TIMEOUT_SECONDS: a stalled upload holds nothing for longer


class InvocationsProxy:
    """``POST /invocations`` → ``{upstream}/invocations``, streamed, two headers forwarded."""

    def __init__(
        self,
        upstream: str,
        read_timeout: float = READ_TIMEOUT,
        max_body: int = MAX_BODY_BYTES,
        fixed_headers: Mapping[str, str] | None = None,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.url = upstream.rstrip("/") + "/invocations"
        self.max_body = max_body
        self.body_timeout = body_timeout
        # Set by the proxy itself, never taken from the caller (e.g. the web front's content type).
        self.fixed_headers = dict(fixed_headers or {})
        timeout = httpx.Timeout(
            connect=CONNECT_TIMEOUT, read=read_timeout, write=WRITE_TIMEOUT, pool=CONNECT_TIMEOUT
        )
        # No connection limit below the server's: one user's slow turn never queues another's.
        self.client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=None))

    async def handle(self, request: Request) -> Response:
        """Relay one invocation (a bound method: starlette treats callable objects as ASGI apps)."""
        try:
            body = await asyncio.wait_for(_bounded_body(request, self.max_body), self.body_timeout)
        except asyncio.TimeoutError:
            message = f"Body not received within {self.body_timeout:g} seconds"
            return JSONResponse({"message": message}, status_code=408, headers={"connection": "close"})
        if body is None:
            return JSONResponse({"message": "Request too large"}, status_code=413)
        headers = {
            name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers
        }
        headers.update(self.fixed_headers)
        grant = request.scope.get("state", {}).get(STATE_GRANT)
        if grant is not None:  # set by the authorizer step only; a client's own copy is never forwarded
            headers[EDGE_GRANT_HEADER] = grant
        upstream = self.client.build_request("POST", self.url, content=body, headers=headers)
        try:
            response = await self.client.send(upstream, stream=True)
        except httpx.TimeoutException:
            return JSONResponse({"message": "Endpoint request timed out"}, status_code=504)
        except httpx.HTTPError as err:
            logger.warning("upstream unreachable (%s)", type(err).__name__)
            return JSONResponse({"message": "Bad Gateway"}, status_code=502)
        passed = {k: v for k, v in response.headers.items() if k.lower() in FORWARDED_RESPONSE_HEADERS}
        return StreamingResponse(
            _relay(response),
            status_code=response.status_code,
            headers=passed,
            background=BackgroundTask(response.aclose),
        )

    async def aclose(self) -> None:
        """Close the upstream HTTP client."""
        await self.client.aclose()


async def _relay(response: httpx.Response) -> AsyncIterator[bytes]:
    """The upstream body as it arrives; a stall or break mid-stream ends the stream instead of hanging."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError as err:
        # Headers are sent already: the only honest signal left is a final SSE error event.
        logger.warning("upstream stream ended early (%s)", type(err).__name__)
        yield b'data: {"error": "The agent stopped responding; try again."}\n\n'


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it exceeds `limit` bytes (never read further)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@contextlib.asynccontextmanager
async def _closing(proxy: InvocationsProxy) -> AsyncIterator[None]:
    """Lifespan: close the upstream connections when the server stops."""
    yield
    await proxy.aclose()


def build_invocations(
    upstream: str,
    origin: str | None,
    auth: AuthSettings | None,
    limits: Limits | None = None,
    *,
    read_timeout: float = READ_TIMEOUT,
    max_body: int = MAX_BODY_BYTES,
    fixed_headers: Mapping[str, str] | None = None,
    edge_key: bytes | None = None,
    body_timeout: float = BODY_TIMEOUT,
) -> Starlette:
    """``/invocations`` with the front door's policy: CORS ▸ authorizer + per-user limits ▸ proxy.

    The one implementation behind both local fronts: this module's server and the web chat's
    (scripts/localdev/webfront.py mounts it). ``origin`` None: no cross-origin caller is admitted.
    ``auth`` None: no authorizer and no limits (the agent's own authorizer still decides), for
    relay-only tests; ``edge_key``: mint the authorizer's grant for the agent (None: no grant).
    ``app.state.proxy`` holds the upstream client for the host to close.
    """
    proxy = InvocationsProxy(upstream, read_timeout, max_body, fixed_headers, body_timeout)
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=[origin] if origin else [],
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", SESSION_HEADER],
            expose_headers=[SESSION_HEADER, "Retry-After"],
            max_age=600,
        )
    ]
    if auth is not None:
        authorizer = edge_authorizer(auth, edge_key)
        middleware.append(Middleware(PerUserLimits, authorizer=authorizer, limits=limits or Limits()))
    app = Starlette(
        routes=[Route("/invocations", proxy.handle, methods=["POST"])],
        middleware=middleware,
        lifespan=lambda app: _closing(proxy),
    )
    app.state.proxy = proxy
    return app


def edge_authorizer(auth: AuthSettings, edge_key: bytes | None) -> EdgeAuthorizer:
    """The deployed authorizer's decision for these settings (exactly one scope: RequiredScope)."""
    if not auth.discovery_url or len(auth.allowed_scopes) != 1:
        raise ValueError("the front door needs a discovery URL and exactly one required scope")
    return EdgeAuthorizer(
        auth.discovery_url,
        auth.allowed_clients,
        auth.allowed_scopes[0],
        edge_key,
        auth.jwks_cache_ttl_seconds,
    )


def build_frontdoor(
    upstream: str,
    origin: str,
    auth: AuthSettings,
    limits: Limits | None = None,
    read_timeout: float = READ_TIMEOUT,
    edge_key: bytes | None = None,
    body_timeout: float = BODY_TIMEOUT,
) -> Starlette:
    """The front door as one ASGI app: CORS ▸ authorizer + per-user limits ▸ streaming proxy."""
    return build_invocations(
        upstream,
        origin,
        auth,
        limits,
        read_timeout=read_timeout,
        edge_key=edge_key,
        body_timeout=body_timeout,
    )


def auth_settings_from_env(env: Mapping[str, str]) -> AuthSettings:
    """The authorizer's settings: AUTH_DISCOVERY_URL, AUTH_ALLOWED_CLIENTS, FRONTDOOR_SCOPE (csv)."""
    discovery = env.get("AUTH_DISCOVERY_URL")
    if not discovery:
        raise ValueError("AUTH_DISCOVERY_URL is required (the issuer's openid-configuration URL)")

    def csv(name: str, default: str = "") -> tuple[str, ...]:
        return tuple(v.strip() for v in env.get(name, default).split(",") if v.strip())

    return AuthSettings(
        mode="enforce",
        discovery_url=discovery,
        allowed_clients=csv("AUTH_ALLOWED_CLIENTS"),
        allowed_scopes=csv("FRONTDOOR_SCOPE", DEFAULT_SCOPE),
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the front door until interrupted."""
    from scripts.localdev.serving import serve_forever

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="the agent's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--origin", required=True, help="the one origin CORS allows (the web chat's)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template limit, e.g. QuotaLimitPerDay=50",
    )
    parser.add_argument("--ready-file", help="write the URL here as JSON once serving")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    pairs = dict(p.split("=", 1) for p in args.parameter if "=" in p)
    if len(pairs) != len(args.parameter):
        parser.error("--parameter takes NAME=VALUE")
    try:
        limits = Limits.from_parameters(pairs)
        key = edge_key_from_env(os.environ)
        app = build_frontdoor(
            args.upstream, args.origin, auth_settings_from_env(os.environ), limits, edge_key=key
        )
    except ValueError as err:
        parser.error(str(err))

    def announce(port: int) -> None:
        url = f"http://127.0.0.1:{port}"
        print(f"frontdoor_url: {url}", flush=True)
        if args.ready_file:
            with open(args.ready_file, "w", encoding="utf-8") as ready:
                json.dump({"frontdoor_url": url}, ready)

    serve_forever(app, args.port, announce)


if __name__ == "__main__":
    main()
