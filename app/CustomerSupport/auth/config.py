"""Inbound JWT settings: the AUTH_* variables, the manifest's authorizer, and how they combine.

Local runs read the authorizer from ``agentcore/agentcore.json`` (the same declaration the
deployed runtime enforces); AUTH_* variables override it field by field. ``settings.py`` lists
these variables with the rest (``ENV_VARS``) and re-exports what callers use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from envvars import NAMES, OPTIONAL_PATH, OPTIONAL_URL, SECONDS, SECONDS_OR_ZERO, WHOLE_SECONDS, Var, choice

RUNTIME_NAME = "CustomerSupport"
AUTH_MODES = ("enforce", "trust-runtime", "off")
CODE_DIR = Path(__file__).resolve().parent.parent

AGENTCORE_MANIFEST = Var(
    "AGENTCORE_MANIFEST",
    OPTIONAL_PATH,
    None,
    "the manifest whose authorizers local runs read",
    default_doc="`agentcore/agentcore.json` above the code",
)
AUTH_MODE = Var(
    "AUTH_MODE",
    choice(*AUTH_MODES),
    "enforce",
    "`enforce` (verify), `trust-runtime` (the runtime verified; only decode — for deployments that "
    "cannot reach the JWKS), `off` (local experiments: tokenless calls served anonymously, no memory)",
)
_AUTHORIZER = "the authorizer in `agentcore/agentcore.json`"
AUTH_DISCOVERY_URL = Var(
    "AUTH_DISCOVERY_URL",
    OPTIONAL_URL,
    None,
    "OIDC discovery URL (overrides the manifest's)",
    default_doc=_AUTHORIZER,
)
AUTH_ALLOWED_CLIENTS = Var(
    "AUTH_ALLOWED_CLIENTS", NAMES, (), "allowed `client_id`s; set empty to not check", default_doc=_AUTHORIZER
)
AUTH_ALLOWED_AUDIENCE = Var(
    "AUTH_ALLOWED_AUDIENCE", NAMES, (), "allowed `aud`s; set empty to not check", default_doc=_AUTHORIZER
)
AUTH_ALLOWED_SCOPES = Var(
    "AUTH_ALLOWED_SCOPES", NAMES, (), "scopes of which one is required", default_doc=_AUTHORIZER
)
AUTH_JWKS_MIN_REFRESH_SECONDS = Var(
    "AUTH_JWKS_MIN_REFRESH_SECONDS",
    SECONDS_OR_ZERO,
    10.0,
    "minimum interval between JWKS fetches, whether the last fetch worked or failed; while the "
    "identity provider fails, requests get 503 without a fetch",
)
AUTH_JWKS_CACHE_TTL_SECONDS = Var(
    "AUTH_JWKS_CACHE_TTL_SECONDS",
    SECONDS,
    300.0,
    "keys older than this are fetched again before use, so a key withdrawn at the issuer stops "
    "verifying (keep it above the refresh interval)",
)
AUTH_LEEWAY_SECONDS = Var("AUTH_LEEWAY_SECONDS", WHOLE_SECONDS, 60, "clock skew allowed on `exp`/`iat`")

AUTH_VARS: tuple[Var[Any], ...] = tuple(v for v in globals().values() if isinstance(v, Var))


@dataclass(frozen=True)
class AuthSettings:
    """Inbound JWT checks, with the semantics of the AgentCore CUSTOM_JWT authorizer.

    ``enforce``: verify signature, issuer, expiry and the allow-lists here too (defence in depth).
    ``trust-runtime``: the deployed runtime already verified the token (use when the JWKS is not
    reachable from the runtime); the token is only decoded for its ``sub``.
    ``off``: local experiments only; requests without a token are served anonymously (no memory,
    no gateway), while a presented token is still verified.
    """

    mode: str = AUTH_MODE.default
    discovery_url: str | None = None
    allowed_clients: tuple[str, ...] = ()
    allowed_audience: tuple[str, ...] = ()
    allowed_scopes: tuple[str, ...] = ()
    leeway_seconds: int = AUTH_LEEWAY_SECONDS.default
    http_timeout_seconds: float = 5.0
    # At most one JWKS fetch per interval, whether the last one worked or failed.
    jwks_min_refresh_seconds: float = AUTH_JWKS_MIN_REFRESH_SECONDS.default
    # Keys older than this are fetched again before use (a key removed at the issuer stops working).
    jwks_cache_ttl_seconds: float = AUTH_JWKS_CACHE_TTL_SECONDS.default

    @classmethod
    def from_authorizer(cls, authorizer: dict[str, Any], **overrides: Any) -> AuthSettings:
        """Build from a manifest ``customJwtAuthorizer`` block."""
        return cls(
            discovery_url=authorizer.get("discoveryUrl"),
            allowed_clients=tuple(authorizer.get("allowedClients") or ()),
            allowed_audience=tuple(authorizer.get("allowedAudience") or ()),
            allowed_scopes=tuple(authorizer.get("allowedScopes") or ()),
            **overrides,
        )


def find_manifest(start: Path = CODE_DIR) -> Path | None:
    """The project's agentcore/agentcore.json above `start`, if this is a source checkout."""
    for parent in (start, *start.parents):
        candidate = parent / "agentcore" / "agentcore.json"
        if candidate.is_file():
            return candidate
    return None


def manifest_authorizer(manifest: Path | None, gateway: str | None = None) -> dict[str, Any]:
    """The customJwtAuthorizer block of our runtime (or of `gateway`) in the manifest ({} if none)."""
    if manifest is None or not manifest.is_file():
        return {}
    spec = json.loads(manifest.read_text())
    section, name = ("agentCoreGateways", gateway) if gateway else ("runtimes", RUNTIME_NAME)
    for resource in spec.get(section, []):
        if resource.get("name") == name:
            return (resource.get("authorizerConfiguration") or {}).get("customJwtAuthorizer") or {}
    return {}


def load_auth_settings(env: Mapping[str, str], gateway: str | None = None) -> AuthSettings:
    """Manifest values (runtime's, or `gateway`'s), overridden field by field by AUTH_* variables."""
    manifest = AGENTCORE_MANIFEST.read(env) or find_manifest()
    base = AuthSettings.from_authorizer(manifest_authorizer(manifest, gateway))
    overrides: dict[str, Any] = {
        "mode": AUTH_MODE.read(env),
        "leeway_seconds": AUTH_LEEWAY_SECONDS.read(env),
        "jwks_min_refresh_seconds": AUTH_JWKS_MIN_REFRESH_SECONDS.read(env),
        "jwks_cache_ttl_seconds": AUTH_JWKS_CACHE_TTL_SECONDS.read(env),
    }
    discovery = AUTH_DISCOVERY_URL.read(env)
    if discovery:
        overrides["discovery_url"] = discovery
    for var, name in (
        (AUTH_ALLOWED_CLIENTS, "allowed_clients"),
        (AUTH_ALLOWED_AUDIENCE, "allowed_audience"),
        (AUTH_ALLOWED_SCOPES, "allowed_scopes"),
    ):
        if var.name in env:  # set, even empty, replaces the manifest's list
            overrides[name] = var.read(env)
    return replace(base, **overrides)
