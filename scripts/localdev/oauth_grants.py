"""The local issuer's OAuth grants: codes, refresh tokens (rotation, family revocation), revocation.

``POST /oauth2/token`` grants ``authorization_code`` (single-use codes, PKCE S256, exact redirect
URI) and ``refresh_token`` (rotated by default; a retired token presented again revokes its whole
family, as Cognito does); ``POST /oauth2/revoke`` retires a refresh token. The hosted UI
(hosted_ui.py) issues the codes. State is in memory and bounded.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response

from scripts.localdev.pool import Client, TokenMinter, User
from scripts.localdev.record import record_issued

CODE_LIFETIME_SECONDS = 300  # Cognito's authorization codes live 5 minutes
MAX_ENTRIES = 10_000  # per table; the oldest entries go first


@dataclass
class _Grant:
    """What a code or refresh token stands for."""

    client_id: str
    username: str
    scopes: list[str]
    expires_at: float
    redirect_uri: str = ""
    code_challenge: str = ""
    nonce: str | None = None
    auth_time: int = 0  # when the user signed in; refreshed tokens keep it, as Cognito's do
    family: str = ""  # refresh tokens rotated from one sign-in share it (reuse revokes them all)


class _Bounded(OrderedDict[str, Any]):
    """A dict that forgets its oldest entries beyond MAX_ENTRIES."""

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        while len(self) > MAX_ENTRIES:
            self.popitem(last=False)


def s256(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OAuthGrants:
    """The token endpoint's grants and revocation for one local issuer."""

    def __init__(self, issuer: TokenMinter) -> None:
        self.issuer = issuer
        self.codes: _Bounded = _Bounded()
        self.refresh_tokens: _Bounded = _Bounded()
        self.retired: _Bounded = _Bounded()  # rotated-away refresh token -> its family
        self.code_lifetime = CODE_LIFETIME_SECONDS
        # Counters for tests: proof that a browser app refreshed, revoked, signed out.
        self.counts = {
            "code": 0,
            "refresh": 0,
            "revoke": 0,
            "logout": 0,
            "login_page": 0,
            "signup": 0,
            "family_revoked": 0,
        }

    # -- /oauth2/token grants ------------------------------------------------------------------
    def token_for_code(self, form: dict[str, str], client: Client) -> Response:
        """The authorization_code grant: PKCE S256, exact redirect URI, single use."""
        grant = self.codes.pop(form.get("code", ""), None)  # single use, even when it fails
        if (
            grant is None
            or grant.client_id != client.client_id
            or grant.expires_at < time.time()
            or grant.redirect_uri != form.get("redirect_uri", "")
            or not secrets.compare_digest(grant.code_challenge, s256(form.get("code_verifier", "")))
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        user = self.issuer.config.user(grant.username)
        if user is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        self.counts["code"] += 1
        refresh = self._new_refresh_token(client, grant)
        return self._token_response(user, client, grant, refresh, nonce=grant.nonce)

    def token_for_refresh(self, form: dict[str, str], client: Client) -> Response:
        """The refresh_token grant, with rotation unless the client turns it off."""
        presented = form.get("refresh_token", "")
        # With rotation the presented refresh token is retired whatever happens next.
        grant = (
            self.refresh_tokens.pop(presented, None)
            if client.refresh_token_rotation
            else self.refresh_tokens.get(presented)
        )
        if grant is None and presented in self.retired:  # reuse of a rotated token: end the family
            self._revoke_family(self.retired.pop(presented))
        if grant is None or grant.client_id != client.client_id or grant.expires_at < time.time():
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        user = self.issuer.config.user(grant.username)
        if user is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if client.refresh_token_rotation:
            self.retired.put(presented, grant.family)
        self.counts["refresh"] += 1
        refresh = self._new_refresh_token(client, grant) if client.refresh_token_rotation else None
        return self._token_response(user, client, grant, refresh)

    def _new_refresh_token(self, client: Client, grant: _Grant) -> str:
        token = secrets.token_urlsafe(48)  # opaque to clients, like Cognito's encrypted ones
        record_issued(token)
        self.refresh_tokens.put(
            token,
            _Grant(
                client.client_id,
                grant.username,
                grant.scopes,
                time.time() + client.refresh_token_validity,
                auth_time=grant.auth_time,
                family=grant.family or secrets.token_hex(8),  # a code starts a new family
            ),
        )
        return token

    def _revoke_family(self, family: str) -> None:
        for token in [t for t, g in self.refresh_tokens.items() if g.family == family]:
            del self.refresh_tokens[token]
        self.counts["family_revoked"] += 1

    def _token_response(
        self, user: User, client: Client, grant: _Grant, refresh: str | None, nonce: str | None = None
    ) -> Response:
        if token_refusal_for(self.issuer, user) is not None:  # the pre token generation trigger
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        lifetime = self.issuer.access_lifetime(client)
        scopes = grant.scopes
        tokens = self.issuer.user_tokens(
            user, client.client_id, lifetime, scopes=scopes, nonce=nonce, auth_time=grant.auth_time
        )
        body = {"access_token": tokens["access"], "expires_in": lifetime, "token_type": "Bearer"}
        if refresh is not None:
            body["refresh_token"] = refresh
        if "openid" in scopes:
            body["id_token"] = tokens["id"]
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    # -- /oauth2/revoke and /logout ------------------------------------------------------------
    def revoke(self, token: str, client: Client) -> Response:
        """POST /oauth2/revoke: retire a refresh token of this client."""
        grant = self.refresh_tokens.get(token)
        if grant is not None and grant.client_id != client.client_id:
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if grant is not None:
            del self.refresh_tokens[token]
            self.counts["revoke"] += 1
        return Response(status_code=200)  # unknown tokens are "revoked" too (RFC 7009)

    def active_refresh_tokens(self, username: str) -> int:
        """How many unexpired refresh tokens a user holds (tests check sign-out revoked them)."""
        now = time.time()
        return sum(1 for g in self.refresh_tokens.values() if g.username == username and g.expires_at > now)


def token_refusal_for(issuer: TokenMinter, user: User) -> str | None:
    """The pre token generation trigger's refusal for a signed-up user's current e-mail, or None."""
    if user.email is None:  # configured (demo) users have no address to check
        return None
    from scripts.localdev.signup_policy import token_refusal

    domains = issuer.config.organization_domain
    return token_refusal(user.email, None if domains is None else {"ORGANIZATION_DOMAIN": domains})
