"""Cognito-shaped tokens: machine (client_credentials) access tokens, user access and ID tokens.

``TokenMint`` signs with the pool's current key; ``LocalIssuer`` (issuer.py) serves what it mints.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from scripts.localdev.pool import USER_SCOPE, Client, IssuerConfig, SigningKeys, User
from scripts.localdev.record import record_issued


class TokenMint:
    """Mints the tokens of one local pool (``config``) under ``issuer``'s URL."""

    config: IssuerConfig
    keys: SigningKeys

    @property
    def issuer(self) -> str:
        """The issuer URL (iss); the serving subclass knows its base URL."""
        raise NotImplementedError

    def sign(
        self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None, kid: str | None = None
    ) -> str:
        """Sign arbitrary claims with the current key (tests use this for crafted tokens)."""
        current_kid, current_key = self.keys.current
        token = jwt.encode(claims, key or current_key, algorithm="RS256", headers={"kid": kid or current_kid})
        record_issued(token)
        return token

    def _base_claims(self, lifetime: int | None) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "iat": now,
            "auth_time": now,
            "exp": now + (self.config.token_lifetime if lifetime is None else lifetime),
            "jti": str(uuid.uuid4()),
        }

    def client_credentials_token(self, client_id: str, scopes: list[str], lifetime: int | None = None) -> str:
        """A machine access token, as Cognito issues for client_credentials."""
        claims = {
            **self._base_claims(lifetime),
            "sub": client_id,
            "client_id": client_id,
            "token_use": "access",
            "scope": " ".join(scopes),
            "version": 2,
        }
        return self.sign(claims)

    def access_lifetime(self, client: Client) -> int:
        """Seconds an access token of this client lives (its own validity, else the pool's)."""
        if client.access_token_validity is None:
            return self.config.token_lifetime
        return client.access_token_validity

    def user_tokens(
        self,
        user: User,
        client_id: str,
        lifetime: int | None = None,
        scopes: list[str] | None = None,
        nonce: str | None = None,
        auth_time: int | None = None,
    ) -> dict[str, str]:
        """Access and ID tokens for a logged-in user.

        ``scopes``: those granted by the hosted UI; ``auth_time``: when the user signed in, kept
        across refreshes.
        """
        base = self._base_claims(lifetime)
        if auth_time:
            base["auth_time"] = auth_time
        access = {
            **base,
            "sub": user.sub,
            "client_id": client_id,
            "token_use": "access",
            "scope": " ".join(scopes) if scopes else USER_SCOPE,
            "username": user.username,
            "version": 2,
            "origin_jti": str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
        }
        # ID tokens carry `aud`, not `client_id`: the runtime's allowedClients rejects them.
        id_token = {
            **base,
            "jti": str(uuid.uuid4()),
            "sub": user.sub,
            "aud": client_id,
            "token_use": "id",
            "cognito:username": user.username,
            **({"nonce": nonce} if nonce else {}),
        }
        return {"access": self.sign(access), "id": self.sign(id_token)}
