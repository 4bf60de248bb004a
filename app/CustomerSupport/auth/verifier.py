"""JWT verification with the semantics of the AgentCore CUSTOM_JWT authorizer.

- the discovery document's ``issuer`` must equal the token's ``iss``;
- RS256 only, key chosen by ``kid`` from the JWKS (cached for ``jwks_cache_ttl_seconds``; fetched
  at most once per ``jwks_min_refresh_seconds`` whether the last fetch worked or failed, so rotation
  works and junk kids or a failing identity provider cannot make us hammer the JWKS);
- ``exp``/``nbf``/``iat`` must be numbers, checked with at most 60 s leeway;
- ``allowedClients`` ↔ ``client_id``, ``allowedAudience`` ↔ ``aud``, ``allowedScopes`` ↔ one of
  ``scope``; unset lists are not checked.

Missing token → 401; invalid, expired or not allowed → 403; identity provider unreachable → 503.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from auth.config import AuthSettings

ALGORITHM = "RS256"


class AuthError(Exception):
    """A rejected request: HTTP status and a short message safe to show the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Identity:
    """Who is calling: the verified ``sub`` and the bearer token to forward (never printed)."""

    actor_id: str
    token: str | None = field(default=None, repr=False)
    claims: dict[str, Any] = field(default_factory=dict, repr=False)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header, or AuthError."""
    if not authorization:
        raise AuthError(401, "Missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "Authorization must use the Bearer scheme")
    return token.strip()


class JwtVerifier:
    """Verifies bearer tokens against one OIDC issuer; safe to share across requests."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._issuer: str | None = None
        self._jwks_uri: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0  # last successful fetch (keys expire relative to it)
        self._attempted_at: float | None = None  # last fetch attempt, successful or not
        self._lock = asyncio.Lock()

    async def identify(self, authorization: str | None) -> Identity:
        """The caller's identity under the configured mode, or AuthError."""
        mode = self.settings.mode
        if mode == "off" and not authorization:
            return Identity(actor_id="")
        token = bearer_token(authorization)
        # Only trust-runtime skips verification; in "off" mode a presented token is still verified.
        claims = self.decode_unverified(token) if mode == "trust-runtime" else await self.verify(token)
        return Identity(actor_id=claims["sub"], token=token, claims=claims)

    @staticmethod
    def decode_unverified(token: str) -> dict[str, Any]:
        """Claims of a token someone upstream already verified (trust-runtime mode)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise AuthError(403, "Invalid token") from None
        return _require_sub(_require_numeric_times(claims))

    async def verify(self, token: str) -> dict[str, Any]:
        """Verified claims of `token`, or AuthError."""
        if not self.settings.discovery_url:
            raise AuthError(503, "Authorization is not configured")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthError(403, "Invalid token") from None
        if header.get("alg") != ALGORITHM:
            raise AuthError(403, "Invalid token: unsupported algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError(403, "Invalid token: no key id")
        key = await self._signing_key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(403, "Token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError(403, "Token not yet valid") from None
        except jwt.InvalidIssuerError:
            raise AuthError(403, "Invalid token issuer") from None
        except jwt.InvalidTokenError:
            raise AuthError(403, "Invalid token") from None
        self._check_allow_lists(claims)
        return _require_sub(_require_numeric_times(claims))

    def _check_allow_lists(self, claims: dict[str, Any]) -> None:
        s = self.settings
        if s.allowed_clients and claims.get("client_id") not in s.allowed_clients:
            raise AuthError(403, "Client not allowed")
        if s.allowed_audience:
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud]
            if not any(a in s.allowed_audience for a in audiences):
                raise AuthError(403, "Audience not allowed")
        if s.allowed_scopes:
            scopes = str(claims.get("scope") or "").split()
            if not any(scope in s.allowed_scopes for scope in scopes):
                raise AuthError(403, "Scope not allowed")

    async def _signing_key(self, kid: str) -> Any:
        if self._keys and time.monotonic() - self._fetched_at > self.settings.jwks_cache_ttl_seconds:
            self._keys = {}  # expired: a key removed at the issuer must stop working
        if kid in self._keys:
            return self._keys[kid].key
        async with self._lock:
            now = time.monotonic()
            may_fetch = (
                self._attempted_at is None
                or now - self._attempted_at >= self.settings.jwks_min_refresh_seconds
            )
            if kid not in self._keys and may_fetch:
                self._attempted_at = now
                await self._refresh()
        if kid in self._keys:
            return self._keys[kid].key
        if not self._keys:  # the last fetch failed and the next one is not due yet
            raise AuthError(503, "The identity provider is unreachable; try again shortly")
        raise AuthError(403, "Invalid token: unknown signing key")

    async def _refresh(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.settings.http_timeout_seconds) as http:
                if self._jwks_uri is None:
                    assert self.settings.discovery_url is not None  # verify() checked it
                    discovery = (await http.get(self.settings.discovery_url)).raise_for_status().json()
                    self._issuer, self._jwks_uri = discovery["issuer"], discovery["jwks_uri"]
                jwks = (await http.get(self._jwks_uri)).raise_for_status().json()
            keys = {}
            for entry in jwks.get("keys", []):
                if entry.get("kty") == "RSA" and entry.get("kid") and entry.get("use", "sig") == "sig":
                    keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=ALGORITHM)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, jwt.PyJWKError):
            # Nothing is cached on failure, so the next request tries again.
            raise AuthError(503, "The identity provider is unreachable; try again shortly") from None
        self._keys = keys
        self._fetched_at = time.monotonic()


def _require_numeric_times(claims: dict[str, Any]) -> dict[str, Any]:
    # PyJWT converts numeric strings; the JWT spec (NumericDate) and AgentCore want numbers.
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise AuthError(403, "Invalid token")
    return claims


def _require_sub(claims: dict[str, Any]) -> dict[str, Any]:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise AuthError(403, "Invalid token: no subject")
    return claims
