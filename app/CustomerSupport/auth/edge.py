"""Edge grants: a customer's request must have passed the front door (its per-user throttle and quota).

The front door's authorizer (app/FrontDoorAuthorizer/handler.py, and the local twin, which runs that
code) adds to every request it lets through a grant, in the header ``EDGE_GRANT_HEADER``::

    v1.<exp>.<nonce>.<mac>    mac = HMAC-SHA256(key, JSON [purpose, "v1", sub, sha256(token), exp, nonce])

``exp`` is a Unix time seconds ahead, ``nonce`` is random. The agent admits a customer token only with
a grant that (1) verifies under one of its keys, (2) names this token's ``sub`` and this very token,
(3) has not expired and is not dated further ahead than ``MAX_GRANT_SECONDS``, and (4) was never seen
before (single use: a ledger remembers each nonce until its ``exp``). The customer never sees the
grant (API Gateway adds it on the way to the runtime), cannot forge one (no key) and cannot reuse one.

Operators keep their machine-to-machine path: tokens whose ``client_id`` is in
``EDGE_EXEMPT_CLIENTS`` need no grant. Nothing is checked unless a key is configured.

Configuration (environment, read when the service is built): ``EDGE_GRANT_KEYS`` (comma-separated
keys, each >= 32 characters; every one verifies, for rotation) or ``EDGE_GRANT_SECRET_ID`` (a Secrets
Manager secret: its ``AWSCURRENT`` and ``AWSPREVIOUS`` values, re-read every ``KEY_REFRESH_SECONDS``);
``EDGE_EXEMPT_CLIENTS``; ``EDGE_NONCE_TABLE`` (a DynamoDB table as the ledger; unset: in memory, one
process). docs/edge-code.md has the design and the cloud wiring.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auth.asgi import send_json
from auth.edge_config import (
    EDGE_EXEMPT_CLIENTS,
    EDGE_GRANT_KEYS,
    EDGE_GRANT_SECRET_ID,
    EDGE_NONCE_TABLE,
    MIN_KEY_CHARS,
)

logger = logging.getLogger(__name__)

EDGE_GRANT_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Edge-Grant"
VERSION = "v1"
PURPOSE = "customersupport-edge-grant"
MAX_GRANT_SECONDS = 300  # a grant dated further ahead was not minted by our authorizer's settings
CLOCK_SKEW_SECONDS = 5
LEDGER_MAX_ENTRIES = 100_000  # nonces alive at once; beyond that new grants are refused (fail closed)
KEY_REFRESH_SECONDS = 300.0
SECRET_TIMEOUT_SECONDS = 5.0

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class GrantRefused(Exception):
    """No valid, unused grant: status and a message safe to show the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def grant_mac(key: bytes, sub: str, token: str, exp: int, nonce: str) -> str:
    """The grant's MAC (base64url, no padding); the authorizer computes the same."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    message = json.dumps([PURPOSE, VERSION, sub, digest, exp, nonce], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def check_grant(grant: str, keys: Sequence[bytes], sub: str, token: str, now: float) -> tuple[str, int]:
    """(nonce, exp) of a grant valid for this token now; GrantRefused otherwise (not yet single-use)."""
    parts = grant.split(".")
    if (
        not grant.isascii()
        or len(parts) != 4
        or parts[0] != VERSION
        or not parts[1].isdigit()
        or len(parts[1]) > 12  # a Unix time; longer is junk (and int() limits digit strings)
        or not parts[2]
    ):
        raise GrantRefused(403, "Invalid edge grant")
    exp, nonce, mac = int(parts[1]), parts[2], parts[3]
    if not any(hmac.compare_digest(grant_mac(key, sub, token, exp, nonce), mac) for key in keys):
        raise GrantRefused(403, "Invalid edge grant")
    if exp + CLOCK_SKEW_SECONDS < now or exp > now + MAX_GRANT_SECONDS + CLOCK_SKEW_SECONDS:
        raise GrantRefused(403, "Edge grant expired")
    return nonce, exp


class NonceLedger:
    """Nonces seen, each until its grant's expiry; bounded (full: refuse, never forget early)."""

    def __init__(self, max_entries: int = LEDGER_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._seen: dict[str, float] = {}

    async def claim(self, nonce: str, exp: float, now: float) -> bool:
        """True the first time `nonce` is claimed while live; False for a replay."""
        if nonce in self._seen and self._seen[nonce] + CLOCK_SKEW_SECONDS >= now:
            return False
        if len(self._seen) >= self.max_entries:
            self._seen = {n: e for n, e in self._seen.items() if e + CLOCK_SKEW_SECONDS >= now}
            if len(self._seen) >= self.max_entries:
                raise GrantRefused(503, "The agent is busy; try again shortly")
        self._seen[nonce] = exp
        return True


class DynamoNonceLedger:
    """Nonces in a DynamoDB table (``EDGE_NONCE_TABLE``): single use across every process and microVM.

    One conditional ``PutItem`` per grant (partition key ``nonce``; ``expires`` is the table's TTL
    attribute, so the table cleans itself); a nonce already there is a replay. AgentCore runs each
    session in its own microVM, so only a shared ledger stops a grant replayed under another session.
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self._client: Any = None

    async def claim(self, nonce: str, exp: float, now: float) -> bool:
        """True the first time `nonce` is claimed anywhere; False for a replay; 503 if DynamoDB fails."""
        try:
            return await asyncio.to_thread(self._put, nonce, exp)
        except OSError as err:
            logger.warning("edge nonce ledger unavailable (%s)", err)
            raise GrantRefused(503, "The agent is unavailable; try again shortly") from None

    def _put(self, nonce: str, exp: float) -> bool:
        import boto3  # only when a table is configured
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        if self._client is None:
            timeouts = Config(connect_timeout=SECRET_TIMEOUT_SECONDS, read_timeout=SECRET_TIMEOUT_SECONDS)
            self._client = boto3.client("dynamodb", config=timeouts)
        item = {"nonce": {"S": nonce}, "expires": {"N": str(int(exp) + CLOCK_SKEW_SECONDS)}}
        try:
            self._client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(nonce)"
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise OSError(type(err).__name__) from None
        except BotoCoreError as err:
            raise OSError(type(err).__name__) from None
        return True


class KeyRing:
    """The grant keys: fixed (``EDGE_GRANT_KEYS``) or a Secrets Manager secret's current and previous."""

    def __init__(self, keys: Sequence[bytes] = (), secret_id: str | None = None) -> None:
        self._fixed = list(keys)
        self.secret_id = secret_id
        self._loaded: tuple[float, list[bytes]] | None = None
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        """Whether grants are required at all."""
        return bool(self._fixed or self.secret_id)

    async def keys(self) -> list[bytes]:
        """Keys that verify now; GrantRefused(503) when the secret cannot be read."""
        if self._fixed or self.secret_id is None:
            return self._fixed
        async with self._lock:
            if self._loaded is None or time.monotonic() - self._loaded[0] > KEY_REFRESH_SECONDS:
                try:
                    loaded = await asyncio.to_thread(_secret_versions, self.secret_id)
                except (OSError, ValueError, KeyError) as err:  # fail closed, say nothing specific
                    logger.warning("edge grant key unavailable (%s)", type(err).__name__)
                    raise GrantRefused(503, "The agent is unavailable; try again shortly") from None
                self._loaded = (time.monotonic(), loaded)
            return self._loaded[1]


def _secret_versions(secret_id: str) -> list[bytes]:
    """AWSCURRENT and, when there is one, AWSPREVIOUS (keys stay valid across a rotation)."""
    import boto3  # the deployed agent has it; imported only when a secret is configured
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    timeouts = Config(connect_timeout=SECRET_TIMEOUT_SECONDS, read_timeout=SECRET_TIMEOUT_SECONDS)
    client = boto3.client("secretsmanager", config=timeouts)
    try:
        keys = [_key(client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"])]
        try:
            previous = client.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")["SecretString"]
        except client.exceptions.ResourceNotFoundException:
            return keys
    except (BotoCoreError, ClientError) as err:
        raise OSError(type(err).__name__) from None
    return [*keys, _key(previous)]


def _key(value: str) -> bytes:
    if len(value.strip()) < MIN_KEY_CHARS:
        raise ValueError(f"edge grant keys must be at least {MIN_KEY_CHARS} characters")
    return value.strip().encode()


@dataclass(frozen=True)
class EdgeCheck:
    """What the gate enforces: the keys, the exempt (operator) clients and the nonce ledger."""

    ring: KeyRing
    exempt_clients: frozenset[str]
    ledger: NonceLedger | DynamoNonceLedger

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EdgeCheck:
        """Read the EDGE_* variables of the module docstring (ValueError on a bad key)."""
        keys = EDGE_GRANT_KEYS.read(env)
        secret = EDGE_GRANT_SECRET_ID.read(env)
        exempt = frozenset(EDGE_EXEMPT_CLIENTS.read(env))
        table = EDGE_NONCE_TABLE.read(env)
        return cls(KeyRing(keys, secret), exempt, DynamoNonceLedger(table) if table else NonceLedger())

    async def admit(self, grants: list[str], claims: Mapping[str, Any], token: str | None) -> None:
        """Return if this verified caller may be served; GrantRefused otherwise."""
        if not self.ring.configured or claims.get("client_id") in self.exempt_clients:
            return
        if len(grants) != 1 or token is None:
            raise GrantRefused(403, "Customer requests must come through the front door")
        now = time.time()
        nonce, exp = check_grant(grants[0], await self.ring.keys(), str(claims.get("sub")), token, now)
        if not await self.ledger.claim(nonce, exp, now):
            raise GrantRefused(403, "Edge grant already used")


class EdgeGrantGate:
    """ASGI middleware inside the invocation guard: admits a verified caller only with a grant.

    ``service`` is the guard's zero-argument service getter: the check is rebuilt from the
    environment whenever a new service is (so it is read once per service, never at import).
    ``identity_key`` is where the guard leaves the verified ``auth.Identity`` in the scope's state.
    """

    def __init__(
        self, app: Callable[..., Awaitable[None]], service: Callable[[], Any], identity_key: str
    ) -> None:
        self.app = app
        self.service = service
        self.identity_key = identity_key
        self._built: tuple[Any, EdgeCheck] | None = None

    def check(self) -> EdgeCheck:
        """The check for the current service."""
        service = self.service()
        if self._built is None or self._built[0] is not service:
            self._built = (service, EdgeCheck.from_env(os.environ))
        return self._built[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse /invocations without a valid, unused grant (403), else hand on."""
        identity = scope.get("state", {}).get(self.identity_key) if scope["type"] == "http" else None
        if identity is None:  # not an invocation the guard admitted: nothing to add
            await self.app(scope, receive, send)
            return
        name = EDGE_GRANT_HEADER.lower().encode()
        grants = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name]
        try:
            await self.check().admit(grants, identity.claims, identity.token)
        except ValueError as err:  # a bad key in the environment: refuse everything, say why in the log
            logger.error("edge grant configuration error: %s", err)
            await send_json(send, 500, {"error": "The agent could not process this request"})
            return
        except GrantRefused as refused:
            await send_json(send, refused.status, {"error": refused.message})
            return
        await self.app(scope, receive, send)
