"""The local user pool's model: app clients, users, sign-in settings and signing keys.

Data only (plus lookups): the issuer mints tokens from it, the hosted UI signs users in and up
against it, the Cognito JSON API describes it. ``TokenMinter`` is what those two need of the
issuer, so neither imports it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

USER_SCOPE = "aws.cognito.signin.user.admin"


@dataclass
class Client:
    """A registered app client. Machine clients have a secret; user-login clients do not."""

    client_id: str
    client_secret: str | None = None
    allowed_scopes: list[str] = field(default_factory=list)
    user_login: bool = False
    name: str = ""
    # Like Cognito's per-client AccessTokenValidity (seconds); a negative value mints tokens that
    # are already expired, which the demo uses to show a 403.
    access_token_validity: int | None = None
    # Hosted-UI (authorization code) clients: exact callback and sign-out URLs, as registered
    # with Cognito's CallbackURLs / LogoutURLs; refresh tokens live this long (seconds).
    callback_urls: list[str] = field(default_factory=list)
    logout_urls: list[str] = field(default_factory=list)
    refresh_token_validity: int = 30 * 24 * 3600
    # Rotation: each refresh returns a new refresh token and retires the presented one. Off, the
    # refresh token stays valid and the answer carries none (what Cognito's token endpoint does
    # unless the client has refresh-token rotation, which Cognito completes only through its
    # GetTokensFromRefreshToken API).
    refresh_token_rotation: bool = True


@dataclass
class User:
    """A user who can log in with USER_PASSWORD_AUTH (``email``: set for users who signed up)."""

    username: str
    password: str
    sub: str
    email: str | None = None


@dataclass
class IssuerConfig:
    """Clients, users and token lifetime of one local user pool."""

    pool_id: str = "us-east-1_LOCAL"
    token_lifetime: int = 3600
    clients: list[Client] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    # The prerequisites' SelfSignUp: the hosted UI offers a sign-up page, admitting only the domains
    # of organization_domain (None: the ORGANIZATION_DOMAIN variable) by the PreSignUp trigger's code.
    self_sign_up: bool = False
    organization_domain: str | None = None
    # AWS access key id -> secret key whose SigV4 signature admits DescribeUserPoolClient (which
    # returns client secrets); none: nobody may read a secret through the Cognito API.
    api_credentials: dict[str, str] = field(default_factory=dict, repr=False)

    def client(self, client_id: str) -> Client | None:
        """The app client of that id, if any."""
        return next((c for c in self.clients if c.client_id == client_id), None)

    def user(self, username: str) -> User | None:
        """The user of that name, if any; case-insensitive, as the deployed pool (``Dup@`` is ``dup@``)."""
        wanted = username.lower()
        return next((u for u in self.users if u.username.lower() == wanted), None)

    def add_user(self, username: str, password: str, email: str | None = None) -> User:
        """Register a new user (sign-up) with a fresh sub."""
        user = User(username=username, password=password, sub=str(uuid.uuid4()), email=email)
        self.users.append(user)
        return user

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IssuerConfig:
        """Build from the JSON shape documented in the module docstring."""
        return cls(
            pool_id=data.get("pool_id", cls.pool_id),
            token_lifetime=int(data.get("token_lifetime", cls.token_lifetime)),
            clients=[Client(**c) for c in data.get("clients", [])],
            users=[User(**u) for u in data.get("users", [])],
            self_sign_up=bool(data.get("self_sign_up", False)),
            organization_domain=data.get("organization_domain"),
            api_credentials={str(k): str(v) for k, v in (data.get("api_credentials") or {}).items()},
        )

    @classmethod
    def load(cls, path: Path) -> IssuerConfig:
        """Read a config file."""
        return cls.from_dict(json.loads(path.read_text()))


class SigningKeys:
    """RS256 signing keys; the newest signs, all are published."""

    def __init__(self) -> None:
        self._keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.add()

    def add(self) -> str:
        """Generate a new key, make it the signing key, and return its kid."""
        kid = uuid.uuid4().hex
        self._keys.append((kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        return kid

    @property
    def current(self) -> tuple[str, rsa.RSAPrivateKey]:
        """(kid, private key) of the signing key."""
        return self._keys[-1]

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document."""
        keys = []
        for kid, key in self._keys:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}


class TokenMinter(Protocol):
    """What the hosted UI and the Cognito JSON API need of the issuer."""

    config: IssuerConfig

    def access_lifetime(self, client: Client) -> int:
        """Seconds an access token of this client lives."""
        ...

    def user_tokens(
        self,
        user: User,
        client_id: str,
        lifetime: int | None = None,
        scopes: list[str] | None = None,
        nonce: str | None = None,
        auth_time: int | None = None,
    ) -> dict[str, str]:
        """Access and ID tokens for a signed-in user."""
        ...
