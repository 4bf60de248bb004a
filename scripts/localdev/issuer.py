"""A local, Cognito-compatible token issuer for development and testing.

It speaks the parts of Amazon Cognito this project relies on:

- OIDC discovery and JWKS under the issuer URL (``{base}/{pool_id}/.well-known/...``), RS256 keys
  with ``kid`` (more keys can be added to exercise rotation);
- ``POST /oauth2/token`` with ``grant_type=client_credentials`` (client id and secret by HTTP Basic
  or form), scopes checked against the client's allowed scopes, errors shaped like Cognito's;
- the hosted UI (Managed Login) for browser apps: ``/oauth2/authorize`` with a sign-in page,
  ``authorization_code`` with PKCE, ``refresh_token`` with rotation, ``/oauth2/revoke`` and
  ``/logout`` (see ``hosted_ui.py``);
- the Cognito JSON API (``X-Amz-Target``) for ``InitiateAuth`` (USER_PASSWORD_AUTH) and
  ``DescribeUserPoolClient`` (only for calls SigV4-signed with ``api_credentials``: it returns
  client secrets), so the aws CLI works against it through ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``.

Tokens are shaped like Cognito's access and ID tokens. Clients and users come from a JSON file::

    {"pool_id": "us-east-1_LOCAL", "token_lifetime": 3600,
     "clients": [{"client_id": "...", "client_secret": "...", "allowed_scopes": ["customersupport/invoke"]},
                 {"client_id": "...", "user_login": true},
                 {"client_id": "...", "allowed_scopes": ["openid", "profile"],
                  "callback_urls": ["http://127.0.0.1:8765/"], "logout_urls": ["http://127.0.0.1:8765/"],
                  "access_token_validity": 300, "refresh_token_validity": 86400}],
     "users": [{"username": "alex", "password": "...", "sub": "..."}],
     "self_sign_up": false, "organization_domain": "example.com", "api_credentials": {"AKID": "secret"}}

With ``self_sign_up`` the hosted UI has a sign-up page (``/signup``) that admits only e-mail
addresses the PreSignUp trigger (app/PreSignUp/handler.py, run as is) admits.

Run: ``python -m scripts.localdev.issuer --config FILE [--port N]``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import secrets
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scripts.localdev.cognito_api import cognito_api
from scripts.localdev.hosted_ui import HostedUI
from scripts.localdev.minting import TokenMint
from scripts.localdev.page_headers import PageHeaders
from scripts.localdev.pool import Client, IssuerConfig, SigningKeys, User
from scripts.localdev.record import record_issued


class LocalIssuer(TokenMint):
    """Serves the endpoints that hand out Cognito-shaped tokens (minted by the ``TokenMint`` base)."""

    def __init__(self, config: IssuerConfig, base_url: str = "http://127.0.0.1") -> None:
        self.config = config
        self.keys = SigningKeys()
        self.jwks_requests = 0  # lets tests see when verifiers refresh
        self.base_url = base_url.rstrip("/")
        self.hosted_ui = HostedUI(self)
        record_issued(*(c.client_secret or "" for c in config.clients), *(u.password for u in config.users))

    # -- URLs ---------------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        """The issuer URL (base URL and pool id), as in the tokens' iss."""
        return f"{self.base_url}/{self.config.pool_id}"

    @property
    def discovery_url(self) -> str:
        """The OIDC discovery URL under the issuer."""
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def jwks_url(self) -> str:
        """The JWKS URL under the issuer."""
        return f"{self.issuer}/.well-known/jwks.json"

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        return f"{self.base_url}/oauth2/token"

    # -- lookups ------------------------------------------------------------------------------
    def client(self, client_id: str) -> Client | None:
        """The app client of that id, if any."""
        return self.config.client(client_id)

    def user(self, username: str) -> User | None:
        """The user of that name, if any."""
        return self.config.user(username)

    async def _cognito_api(self, request: Request) -> Response:
        return await cognito_api(self, request)

    # -- HTTP ---------------------------------------------------------------------------------
    def app(self) -> Starlette:
        """The ASGI app."""
        pool = self.config.pool_id
        return Starlette(
            routes=[
                Route(f"/{pool}/.well-known/openid-configuration", self._discovery, methods=["GET"]),
                Route(f"/{pool}/.well-known/jwks.json", self._jwks, methods=["GET"]),
                Route("/oauth2/token", self._token, methods=["POST"]),
                Route("/oauth2/authorize", self.hosted_ui.authorize, methods=["GET"]),
                Route("/login", self.hosted_ui.login, methods=["POST"]),
                Route("/signup", self.hosted_ui.signup_page, methods=["GET"]),
                Route("/signup", self.hosted_ui.signup, methods=["POST"]),
                Route("/oauth2/revoke", self._revoke, methods=["POST"]),
                Route("/logout", self.hosted_ui.logout, methods=["GET"]),
                Route("/", self._cognito_api, methods=["POST"]),
            ],
            # Browser apps on another origin read discovery/JWKS and call token/revoke, as they
            # do with Cognito; no credentials (cookies) ride on those calls.
            middleware=[
                Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"]),
                Middleware(PageHeaders),  # anti-framing, nosniff, CSP, referrer on every page
            ],
        )

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "jwks_uri": self.jwks_url,
                "token_endpoint": self.token_url,
                "authorization_endpoint": f"{self.base_url}/oauth2/authorize",
                "response_types_supported": ["code", "token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "revocation_endpoint": f"{self.base_url}/oauth2/revoke",
                "userinfo_endpoint": f"{self.base_url}/oauth2/userInfo",
                "scopes_supported": ["openid", "email", "phone", "profile"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        return JSONResponse(self.keys.jwks())

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        try:
            client_id, client_secret = _client_auth(request, form)
        except ValueError:
            return _oauth_error("invalid_client", 401)
        grant_type = form.get("grant_type")
        if grant_type in ("authorization_code", "refresh_token"):
            known = self.client(str(client_id or ""))
            if known is not None and not known.callback_urls:  # a machine or API-login client
                return _oauth_error("unsupported_grant_type", 400)
            app_client = self._browser_client(client_id, client_secret)
            if app_client is None:
                return _oauth_error("invalid_client", 401)
            fields = {k: str(v) for k, v in form.items()}
            if grant_type == "authorization_code":
                return self.hosted_ui.token_for_code(fields, app_client)
            return self.hosted_ui.token_for_refresh(fields, app_client)
        if grant_type != "client_credentials":
            return _oauth_error("unsupported_grant_type", 400)
        if not client_id or not client_secret:
            return _oauth_error("invalid_client", 401)
        client = self.client(str(client_id))
        if (
            client is None
            or client.client_secret is None
            or not secrets.compare_digest(client.client_secret, str(client_secret))
        ):
            return _oauth_error("invalid_client", 401)
        requested = str(form.get("scope") or "").split()
        if not client.allowed_scopes:
            return _oauth_error("unauthorized_client", 400)
        if any(scope not in client.allowed_scopes for scope in requested):
            return _oauth_error("invalid_scope", 400)
        scopes = requested or client.allowed_scopes
        lifetime = self.access_lifetime(client)
        return JSONResponse(
            {
                "access_token": self.client_credentials_token(client.client_id, scopes, lifetime),
                "expires_in": lifetime,
                "token_type": "Bearer",
            }
        )

    def _browser_client(self, client_id: Any, client_secret: Any) -> Client | None:
        """The hosted-UI client making a token or revoke call: public (no secret) or confidential."""
        client = self.client(str(client_id or ""))
        if client is None or not client.callback_urls:
            return None
        if client.client_secret is not None and not secrets.compare_digest(
            client.client_secret, str(client_secret or "")
        ):
            return None
        return client

    async def _revoke(self, request: Request) -> Response:
        form = await request.form()
        try:
            client_id, client_secret = _client_auth(request, form)
        except ValueError:
            return _oauth_error("invalid_client", 401)
        client = self._browser_client(client_id, client_secret)
        if client is None:
            return _oauth_error("invalid_client", 401)
        token = str(form.get("token") or "")
        if not token:
            return _oauth_error("invalid_request", 400)
        return self.hosted_ui.revoke(token, client)


def _client_auth(request: Request, form: Any) -> tuple[Any, Any]:
    """Client id and secret from HTTP Basic, else from the form; ValueError if Basic is garbled."""
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise ValueError("malformed Basic credentials") from err
        return client_id, client_secret
    return form.get("client_id"), form.get("client_secret")


def _oauth_error(code: str, status: int) -> Response:
    return JSONResponse({"error": code}, status_code=status)


def main(argv: list[str] | None = None) -> None:
    """Serve the issuer until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="clients/users JSON file")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--ready-file", type=Path, help="write the URLs here as JSON once serving")
    args = parser.parse_args(argv)

    from scripts.localdev.serving import serve_forever

    issuer = LocalIssuer(IssuerConfig.load(args.config))

    def announce(port: int) -> None:
        issuer.base_url = f"http://127.0.0.1:{port}"
        urls = {
            "issuer": issuer.issuer,
            "discovery_url": issuer.discovery_url,
            "token_url": issuer.token_url,
            "cognito_endpoint": issuer.base_url,
        }
        for name, url in urls.items():
            print(f"{name}: {url}", flush=True)
        if args.ready_file:
            args.ready_file.write_text(json.dumps(urls))

    serve_forever(issuer.app(), args.port, announce)


if __name__ == "__main__":
    main()
