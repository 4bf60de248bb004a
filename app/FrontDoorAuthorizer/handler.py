"""FrontDoorAuthorizer: API Gateway Lambda authorizer of the front door (scripts/deploy/frontdoor.yaml).

It does what a Cognito user-pool authorizer with an OAuth scope on the method does, and one thing
that authorizer cannot: choose the caller's own usage-plan API key, so API Gateway throttles and
meters every user separately without the customer ever handling a key.

Invocation contract (API Gateway -> TOKEN authorizer, identity source ``Authorization``):

* ``event`` is ``{"type": "TOKEN", "authorizationToken": "Bearer <jwt>", "methodArn": "arn:..."}``.
* Allow: return ``{"principalId": sub, "policyDocument": <Allow execute-api:Invoke on methodArn>,
  "usageIdentifierKey": <the user's API key value>, "context": {"sub": sub}}``. With the REST API's
  ``ApiKeySourceType: AUTHORIZER`` and ``ApiKeyRequired`` on the method, API Gateway applies the
  usage plan's throttle and quota of that key; a client's own ``x-api-key`` header is ignored.
* 401: raise ``Exception("Unauthorized")`` (the one message API Gateway maps to 401) when the token
  is missing, malformed, badly signed, expired, from another issuer, or not an access token.
* 403: return a Deny policy when the token is genuine but not for this API (client id not allowed,
  required scope missing).
* Any other failure (JWKS or API Gateway unreachable) propagates and API Gateway answers 500: the
  door fails closed.

Checks, as the Cognito authorizer makes them: RS256 signature by a key of the pool's JWKS
(``{ISSUER}/.well-known/jwks.json``, cached), ``iss`` = the pool's issuer, ``exp`` (no leeway
beyond 60 s), ``token_use == "access"``, ``client_id`` in ``ALLOWED_CLIENT_IDS``, ``REQUIRED_SCOPE``
among ``scope``. Then the user's key: named ``API_KEY_NAME_PREFIX + sub``, its value derived from the
usage plan id and ``sub`` (not a secret: with the AUTHORIZER key source no client can present a key),
created and added to the usage plan the first time a user is seen (idempotent: a concurrent or
earlier creation is found and reused). Disable a user's key in API Gateway to lock that user out.

Configuration (environment): ``USER_POOL_ID`` and ``AWS_REGION`` (or ``ISSUER`` directly),
``ALLOWED_CLIENT_IDS`` (comma-separated), ``REQUIRED_SCOPE``, ``USAGE_PLAN_NAME`` (the template
passes the name: the plan's id would make a dependency cycle plan → stage → method → authorizer →
function) or ``USAGE_PLAN_ID``, ``API_KEY_NAME_PREFIX``. Dependencies: PyJWT with ``cryptography`` (bundled by
scripts/deploy/deploy-frontdoor.sh) and boto3 (in the Lambda runtime).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import boto3
import jwt

ALGORITHM = "RS256"
LEEWAY_SECONDS = 60
JWKS_TIMEOUT_SECONDS = 5
KNOWN_USERS_MAX = 10_000  # bounded per execution environment

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
        )


@functools.lru_cache(maxsize=1)
def _config() -> Config:
    return Config.from_env()


@functools.lru_cache(maxsize=4)
def _jwks_client(issuer: str) -> jwt.PyJWKClient:
    # Keys are cached for the life of the execution environment; an unknown kid triggers a refetch.
    return jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json", cache_keys=True, timeout=JWKS_TIMEOUT_SECONDS)


@functools.lru_cache(maxsize=1)
def _apigateway() -> Any:
    return boto3.client("apigateway")


_known_users: OrderedDict[str, str] = OrderedDict()


def verify_access_token(authorization: Any, config: Config) -> dict[str, Any]:
    """Verified claims of the bearer access token; Unauthorized (401) or Forbidden (403) otherwise."""
    if not isinstance(authorization, str):
        raise Unauthorized()
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    try:
        key = _jwks_client(config.issuer).get_signing_key_from_jwt(token.strip())
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
    logger.info("outcome=allowed")
    return result
