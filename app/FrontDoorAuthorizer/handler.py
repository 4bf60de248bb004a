"""FrontDoorAuthorizer: API Gateway Lambda authorizer of the front door (scripts/deploy/frontdoor.yaml).

It does what a Cognito user-pool authorizer with an OAuth scope does, and what it cannot: choose the
caller's own usage-plan API key, so API Gateway throttles and meters every user separately.

Invocation contract (API Gateway -> TOKEN authorizer, identity source ``Authorization``):

* ``event`` is ``{"type": "TOKEN", "authorizationToken": "Bearer <jwt>", "methodArn": "arn:..."}``.
* Allow: return ``{"principalId": sub, "policyDocument": <Allow execute-api:Invoke on methodArn>,
  "usageIdentifierKey": <the user's key>, "context": {"sub": sub, "edgeGrant": ...}}``. With the
  API's ``ApiKeySourceType: AUTHORIZER`` and ``ApiKeyRequired``, API Gateway applies that key's
  usage-plan throttle and quota; a client's own ``x-api-key`` header is ignored.
* 401: raise ``Exception("Unauthorized")`` (the one message API Gateway maps to 401): token missing,
  malformed, badly signed, expired, from another issuer, or not an access token.
* 403: a Deny policy for a genuine token not for this API (client not allowed, scope missing).
* Any other failure (JWKS, API Gateway or the secret unreachable) propagates: 500, the door fails closed.

Checks, as the Cognito authorizer makes them: RS256 signature by a key of the pool's JWKS
(``{ISSUER}/.well-known/jwks.json``), ``iss`` = the pool's issuer, ``exp`` (no leeway
beyond 60 s), ``token_use == "access"``, ``client_id`` in ``ALLOWED_CLIENT_IDS``, ``REQUIRED_SCOPE``
among ``scope``. Then the user's key: named ``API_KEY_NAME_PREFIX + sub``, its value derived from the
usage plan id and ``sub`` (not a secret: with the AUTHORIZER key source no client can present a key),
created and added to the plan on first sight (idempotent). Disable a user's key to lock them out.

JWKS cached ``JWKS_CACHE_SECONDS`` (300, as the agent's verifier: a withdrawn key stops being trusted);
an unknown ``kid`` refetches at most once per ``JWKS_MIN_REFRESH_SECONDS`` (10).

Edge grant: with ``EDGE_GRANT_SECRET_ID`` (Secrets Manager, ``AWSCURRENT`` re-read every 300 s) or
``EDGE_GRANT_KEY``, an Allow carries ``context.edgeGrant``, a single-use HMAC grant over ``sub``, this
token, an expiry ``EDGE_GRANT_TTL_SECONDS`` (30) ahead and a nonce; the template maps it into the header
``X-Amzn-Bedrock-AgentCore-Runtime-Custom-Edge-Grant`` and the agent (app/CustomerSupport/auth/edge.py)
refuses customer tokens without a fresh one: the usage plan cannot be skipped by calling the runtime
directly. Single use needs an uncached authorizer result (TTL 0). docs/edge-code.md has the design.

Configuration (environment): ``USER_POOL_ID`` and ``AWS_REGION`` (or ``ISSUER`` directly),
``ALLOWED_CLIENT_IDS`` (comma-separated), ``REQUIRED_SCOPE``, ``USAGE_PLAN_NAME`` (the template
passes the name: the plan's id would make a dependency cycle plan → stage → method → authorizer →
function) or ``USAGE_PLAN_ID``, ``API_KEY_NAME_PREFIX``. Dependencies: PyJWT with ``cryptography``
(bundled by scripts/deploy/deploy-frontdoor.sh) and boto3 (in the Lambda runtime).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import boto3
import jwt

ALGORITHM = "RS256"
LEEWAY_SECONDS = 60
JWKS_TIMEOUT_SECONDS = 5
KNOWN_USERS_MAX = 10_000  # bounded per execution environment
EDGE_GRANT_PURPOSE = "customersupport-edge-grant"  # the agent's auth/edge.py checks the same message
EDGE_KEY_REFRESH_SECONDS = 300.0

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


class Unauthorized(Exception):
    """API Gateway turns exactly this message into a 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class Forbidden(Exception):
    """A genuine token that is not for this API: answered with a Deny policy (403)."""


@dataclass(frozen=True)
class Config:
    """What the authorizer checks and where it keeps the users' keys."""

    issuer: str
    allowed_client_ids: frozenset[str]
    required_scope: str
    usage_plan: str  # an id, or ``name:<plan name>`` looked up once
    api_key_name_prefix: str
    jwks_cache_seconds: float = 300.0
    jwks_min_refresh_seconds: float = 10.0
    edge_grant_secret_id: str | None = None
    edge_grant_key: str | None = None  # tests and the local twin; deployments use the secret
    edge_grant_ttl_seconds: int = 30

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        """Read the environment once per execution environment."""
        env = dict(os.environ if env is None else env)
        issuer = env.get("ISSUER") or (
            f"https://cognito-idp.{env['AWS_REGION']}.amazonaws.com/{env['USER_POOL_ID']}"
        )
        return cls(
            issuer=issuer.rstrip("/"),
            allowed_client_ids=frozenset(
                c.strip() for c in env["ALLOWED_CLIENT_IDS"].split(",") if c.strip()
            ),
            required_scope=env["REQUIRED_SCOPE"],
            usage_plan=env.get("USAGE_PLAN_ID") or f"name:{env['USAGE_PLAN_NAME']}",
            api_key_name_prefix=env.get("API_KEY_NAME_PREFIX", "user-"),
            jwks_cache_seconds=float(env.get("JWKS_CACHE_SECONDS", 300)),
            jwks_min_refresh_seconds=float(env.get("JWKS_MIN_REFRESH_SECONDS", 10)),
            edge_grant_secret_id=env.get("EDGE_GRANT_SECRET_ID") or None,
            edge_grant_key=env.get("EDGE_GRANT_KEY") or None,
            edge_grant_ttl_seconds=int(env.get("EDGE_GRANT_TTL_SECONDS", 30)),
        )


@functools.lru_cache(maxsize=1)
def _config() -> Config:
    return Config.from_env()


class ExpiringJWKClient(jwt.PyJWKClient):
    """The JWK set cached `lifespan` s (``cache_keys=True`` would trust a withdrawn key forever)."""

    def __init__(self, uri: str, lifespan: float, min_refresh_seconds: float) -> None:
        super().__init__(
            uri, cache_keys=False, cache_jwk_set=True, lifespan=lifespan, timeout=JWKS_TIMEOUT_SECONDS
        )
        self.min_refresh_seconds = min_refresh_seconds
        self._refreshed_at = float("-inf")

    def fetch_data(self) -> Any:
        """Fetch the JWKS (on expiry or for an unknown kid), noting when."""
        self._refreshed_at = time.monotonic()
        return super().fetch_data()

    def get_signing_key(self, kid: str) -> jwt.PyJWK:
        """The key for `kid` from the (expiring) cached set; unknown: refetch at most once per interval."""
        key = self.match_kid(self.get_signing_keys(), kid)
        if key is not None:
            return key
        # No lock: a Lambda environment serves one request at a time (the twin's threads may race
        # into one extra fetch, no more).
        due = time.monotonic() - self._refreshed_at >= self.min_refresh_seconds
        key = self.match_kid(self.get_signing_keys(refresh=True), kid) if due else None
        if key is None:
            raise jwt.PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"')
        return key


@functools.lru_cache(maxsize=4)
def _jwks_client(issuer: str, lifespan: float, min_refresh_seconds: float) -> jwt.PyJWKClient:
    return ExpiringJWKClient(f"{issuer}/.well-known/jwks.json", lifespan, min_refresh_seconds)


@functools.lru_cache(maxsize=1)
def _apigateway() -> Any:
    return boto3.client("apigateway")


_known_users: OrderedDict[str, str] = OrderedDict()
_edge_key_cache: dict[str, tuple[float, bytes]] = {}  # secret id -> (read at, key)


def verify_access_token(authorization: Any, config: Config) -> dict[str, Any]:
    """Verified claims of the bearer access token; Unauthorized (401) or Forbidden (403) otherwise."""
    if not isinstance(authorization, str):
        raise Unauthorized()
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    try:
        jwks = _jwks_client(config.issuer, config.jwks_cache_seconds, config.jwks_min_refresh_seconds)
        key = jwks.get_signing_key_from_jwt(token.strip())
        claims = jwt.decode(
            token.strip(),
            key.key,
            algorithms=[ALGORITHM],
            issuer=config.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
        )
    except jwt.PyJWKClientConnectionError:
        raise  # the issuer is unreachable: fail closed with a 500, not a misleading 401
    except (jwt.InvalidTokenError, jwt.PyJWKClientError):
        raise Unauthorized() from None
    if claims.get("token_use") != "access" or not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise Unauthorized()
    if claims.get("client_id") not in config.allowed_client_ids:
        raise Forbidden("client not allowed")
    if config.required_scope not in str(claims.get("scope") or "").split():
        raise Forbidden("scope missing")
    return claims


def api_key_value(usage_plan_id: str, sub: str) -> str:
    """The user's key value (stable, 67 characters; API Gateway needs at least 20)."""
    return "cs-" + hashlib.sha256(f"{usage_plan_id}:{sub}".encode()).hexdigest()


@functools.lru_cache(maxsize=4)
def usage_plan_id(plan: str, client: Any) -> str:
    """The plan's id; by name, exactly one plan must carry it (else fail closed)."""
    if not plan.startswith("name:"):
        return plan
    name = plan.removeprefix("name:")
    paginator = client.get_paginator("get_usage_plans")
    ids = [str(p["id"]) for page in paginator.paginate() for p in page["items"] if p["name"] == name]
    if len(ids) != 1:
        raise RuntimeError(f"expected exactly one usage plan named {name!r}, found {len(ids)}")
    return ids[0]


def ensure_user_key(sub: str, config: Config, client: Any) -> str:
    """The user's API key value, creating the key and its usage-plan membership on first sight."""
    plan_id = usage_plan_id(config.usage_plan, client)
    value = api_key_value(plan_id, sub)
    if _known_users.get(sub) == value:
        _known_users.move_to_end(sub)
        return value
    name = f"{config.api_key_name_prefix}{sub}"
    try:
        key_id = client.create_api_key(
            name=name, value=value, enabled=True, description="Per-user key of the front door (never shown)"
        )["id"]
    except client.exceptions.ConflictException:
        # Created earlier (another execution environment, a previous life of this one): reuse it.
        found = client.get_api_keys(nameQuery=name, includeValues=True, limit=500)["items"]
        key_id = next(k["id"] for k in found if k.get("value") == value)
    with contextlib.suppress(client.exceptions.ConflictException):  # already a member
        client.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    _known_users[sub] = value
    if len(_known_users) > KNOWN_USERS_MAX:
        _known_users.popitem(last=False)
    return value


def edge_grant(key: bytes, sub: str, token: str, ttl_seconds: int) -> str:
    """A single-use grant for this user and token: ``v1.<exp>.<nonce>.<mac>`` (see the docstring)."""
    exp, nonce = int(time.time()) + ttl_seconds, secrets.token_urlsafe(16)
    digest = hashlib.sha256(token.encode()).hexdigest()
    message = json.dumps([EDGE_GRANT_PURPOSE, "v1", sub, digest, exp, nonce], separators=(",", ":")).encode()
    mac = base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).rstrip(b"=").decode()
    return f"v1.{exp}.{nonce}.{mac}"


def edge_key(config: Config) -> bytes | None:
    """The grant key (None: grants are off); the secret is re-read every EDGE_KEY_REFRESH_SECONDS."""
    if config.edge_grant_key:
        return config.edge_grant_key.strip().encode()
    if not config.edge_grant_secret_id:
        return None
    secret = config.edge_grant_secret_id
    cached = _edge_key_cache.get(secret)
    if cached is None or time.monotonic() - cached[0] > EDGE_KEY_REFRESH_SECONDS:
        client = boto3.client("secretsmanager")  # once per EDGE_KEY_REFRESH_SECONDS at most
        value = str(client.get_secret_value(SecretId=secret)["SecretString"]).strip()
        cached = _edge_key_cache[secret] = (time.monotonic(), value.encode())
    return cached[1]


def policy(principal: str, effect: str, resource: str) -> dict[str, Any]:
    """An authorizer result with one statement on `resource`."""
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway entry point (see the module docstring for the contract)."""
    config = _config()
    method_arn = str(event.get("methodArn", ""))
    try:
        claims = verify_access_token(event.get("authorizationToken"), config)
    except Unauthorized:
        # Outcome only: tokens and claims never reach the logs.
        logger.info("outcome=unauthorized")
        raise
    except Forbidden as refused:
        logger.info("outcome=forbidden reason=%s", refused)
        return policy("forbidden", "Deny", method_arn)
    sub = claims["sub"]
    result = policy(sub, "Allow", method_arn)
    result["usageIdentifierKey"] = ensure_user_key(sub, config, _apigateway())
    result["context"] = {"sub": sub}
    key = edge_key(config)  # unreadable secret: the exception makes a 500 (fail closed)
    token = str(event["authorizationToken"]).strip().partition(" ")[2].strip()
    # Always set, so the template's header mapping always resolves ("" when grants are off).
    result["context"]["edgeGrant"] = edge_grant(key, sub, token, config.edge_grant_ttl_seconds) if key else ""
    logger.info("outcome=allowed")
    return result
