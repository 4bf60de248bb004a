"""The deployed front door's authorizer decision, for the local twin: runs app/FrontDoorAuthorizer's code.

API Gateway + the Lambda authorizer of scripts/deploy/frontdoor.yaml answer a request's
``Authorization`` header like this, and ``EdgeAuthorizer.decide`` gives the same answer:

* missing, or not matching the authorizer's ``IdentityValidationExpression`` (``IDENTITY_PATTERN``:
  exactly ``Bearer`` with a capital B, one space, three base64url parts) → 401, without invoking the
  function;
* the function raises ``Unauthorized`` (bad signature, expired, other issuer, not an access token,
  no ``sub``, unknown key) → 401 ``{"message": "Unauthorized"}``;
* the function returns a Deny policy (client not allowed, scope missing) → 403 with API Gateway's
  explicit-deny body;
* the function fails otherwise (JWKS unreachable) → 500 ``{"message": null}``;
* Allow → the verified ``sub`` and, when the twin has an edge-grant key, the grant the function mints
  (the agent's auth/edge.py checks it).

The function's own ``verify_access_token`` and ``edge_grant`` run here (blocking JWKS I/O in a worker
thread); only the usage-plan key (API Gateway state) is left out: the twin counts limits itself.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from scripts.localdev.paths import REPO

HANDLER = REPO / "app" / "FrontDoorAuthorizer" / "handler.py"
# scripts/deploy/frontdoor.yaml's Authorizer.IdentityValidationExpression (a test keeps them equal).
IDENTITY_PATTERN = r"^Bearer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$"
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
UNAUTHORIZED = {"message": "Unauthorized"}
EXPLICIT_DENY = {"Message": "User is not authorized to access this resource with an explicit deny"}
AUTHORIZER_FAILED: dict[str, Any] = {"message": None}


@functools.lru_cache(maxsize=1)
def authorizer_code() -> ModuleType:
    """app/FrontDoorAuthorizer/handler.py, loaded from its file as Lambda loads it."""
    spec = importlib.util.spec_from_file_location("frontdoor_authorizer_twin", HANDLER)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HANDLER}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Decision:
    """The authorizer's answer: a refusal (status, API Gateway's body) or an Allow (sub, grant)."""

    status: int
    body: dict[str, Any]
    sub: str = ""
    grant: str | None = None


class EdgeAuthorizer:
    """The deployed authorizer's decision for one issuer, client list and scope."""

    def __init__(
        self,
        discovery_url: str,
        allowed_clients: tuple[str, ...],
        required_scope: str,
        edge_key: bytes | None = None,
        jwks_cache_seconds: float = 300.0,
    ) -> None:
        code = authorizer_code()
        self.code = code
        self.config = code.Config(
            issuer=discovery_url.removesuffix(DISCOVERY_SUFFIX).rstrip("/"),
            allowed_client_ids=frozenset(allowed_clients),
            required_scope=required_scope,
            usage_plan="local-twin",  # never used: the twin keeps no API keys
            api_key_name_prefix="",
            jwks_cache_seconds=jwks_cache_seconds,
            edge_grant_key=edge_key.decode() if edge_key else None,
        )
        self.edge_key = edge_key
        self._pattern = re.compile(IDENTITY_PATTERN)

    async def decide(self, authorization: str | None) -> Decision:
        """What API Gateway + the authorizer answer for this ``Authorization`` header value."""
        if authorization is None or not self._pattern.fullmatch(authorization):
            return Decision(401, UNAUTHORIZED)
        try:
            claims = await asyncio.to_thread(self.code.verify_access_token, authorization, self.config)
        except self.code.Unauthorized:
            return Decision(401, UNAUTHORIZED)
        except self.code.Forbidden:
            return Decision(403, EXPLICIT_DENY)
        except self.code.jwt.PyJWKClientConnectionError:  # the function fails: API Gateway's 500
            return Decision(500, AUTHORIZER_FAILED)
        sub = str(claims["sub"])
        grant = None
        if self.edge_key is not None:
            token = authorization.partition(" ")[2]
            grant = self.code.edge_grant(self.edge_key, sub, token, self.config.edge_grant_ttl_seconds)
        return Decision(200, {}, sub, grant)


def edge_key_from_env(env: Mapping[str, str]) -> bytes | None:
    """The grant key the agent verifies with: the first of EDGE_GRANT_KEYS (None: no grants)."""
    keys = [k.strip() for k in env.get("EDGE_GRANT_KEYS", "").split(",") if k.strip()]
    return keys[0].encode() if keys else None
