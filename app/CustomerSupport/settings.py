"""All configuration the agent reads, in one place.

Environment variables win. For local runs the JWT authorizer is read from
``agentcore/agentcore.json`` (the same declaration the deployed runtime enforces); the deployed
bundle holds only this folder, so there the configure step passes it as runtime ``envVars``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

RUNTIME_NAME = "CustomerSupport"
GATEWAY_URL_ENV = "AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL"
MEMORY_ID_ENV = "MEMORY_CUSTOMERSUPPORTMEMORY_ID"
WEB_SEARCH_URL_ENV = "WEB_SEARCH_MCP_URL"
# The public web-search MCP server the AgentCore CLI's Strands template connects to (no sign-up).
DEFAULT_WEB_SEARCH_URL = "https://mcp.exa.ai/mcp"
DEFAULT_MODEL_ID = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
CODE_DIR = Path(__file__).resolve().parent

AUTH_MODES = ("enforce", "trust-runtime", "off")


@dataclass(frozen=True)
class ServerSettings:
    """How ``python main.py`` serves, as the AgentCore Runtime starts a CodeZip agent.

    The runtime sends traffic to port 8080 on every interface; ``PORT`` and ``HOST`` override
    (local runs and tests bind 127.0.0.1). On SIGTERM in-flight requests get
    ``shutdown_grace_seconds`` and closing the gateway clients ``close_timeout_seconds``, so the
    process exits within 5 s.
    """

    host: str = "0.0.0.0"  # the runtime's container contract: every interface
    port: int = 8080
    shutdown_grace_seconds: float = 2.0
    close_timeout_seconds: float = 2.0


def load_server_settings(env: dict[str, str] | None = None) -> ServerSettings:
    """Host and port from ``HOST``/``PORT`` (``os.environ`` by default); ValueError if invalid."""
    env = dict(os.environ if env is None else env)
    raw_port = env.get("PORT", "").strip() or str(ServerSettings.port)
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        raise ValueError(f"PORT must be a TCP port number (1-65535), got {raw_port!r}")
    return ServerSettings(host=env.get("HOST", "").strip() or ServerSettings.host, port=int(raw_port))


@dataclass(frozen=True)
class AuthSettings:
    """Inbound JWT checks, with the semantics of the AgentCore CUSTOM_JWT authorizer.

    ``enforce``: verify signature, issuer, expiry and the allow-lists here too (defence in depth).
    ``trust-runtime``: the deployed runtime already verified the token (use when the JWKS is not
    reachable from the runtime); the token is only decoded for its ``sub``.
    ``off``: local experiments only; requests without a token are served anonymously (no memory,
    no gateway), while a presented token is still verified.
    """

    mode: str = "enforce"
    discovery_url: str | None = None
    allowed_clients: tuple[str, ...] = ()
    allowed_audience: tuple[str, ...] = ()
    allowed_scopes: tuple[str, ...] = ()
    leeway_seconds: int = 60
    http_timeout_seconds: float = 5.0
    # At most one JWKS fetch per interval, whether the last one worked or failed.
    jwks_min_refresh_seconds: float = 10.0
    # Keys older than this are fetched again before use (a key removed at the issuer stops working).
    jwks_cache_ttl_seconds: float = 300.0

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


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of the CustomerSupport agent."""

    model_provider: str = "bedrock"
    model_id: str = DEFAULT_MODEL_ID
    # Pause between the offline model's text pieces, like a real model's token latency (local
    # demos and browser tests use it to show the stream arriving in pieces).
    offline_chunk_delay_seconds: float = 0.0
    region: str | None = None
    gateway_url: str | None = None
    memory_id: str | None = None
    local_memory_dir: Path = field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "customersupport-sessions"
    )
    max_prompt_chars: int = 8_000
    max_body_bytes: int = 64 * 1024
    max_json_depth: int = 32
    body_timeout_seconds: float = 10.0
    max_concurrent_invocations: int = 64
    session_cache_size: int = 128
    # Bounds every wait of one turn's gateway work together: connect, initialize, list, call.
    gateway_timeout_seconds: float = 15.0
    gateway_idle_seconds: float = 30.0
    gateway_retry_seconds: float = 2.0
    # More than in-flight turns can use, so hung calls never starve another turn of a connection.
    gateway_max_connections: int = 128
    gateway_tools_ttl_seconds: float = 300.0
    memory_timeout_seconds: float = 10.0
    # The web search MCP server (None: no web search). It never receives a caller's credential.
    web_search_url: str | None = None
    # Bounds one turn's web search work (connect, initialize, list, call) together.
    web_search_timeout_seconds: float = 10.0
    # After a failure the public server is left alone this long (turns go on without it).
    web_search_retry_seconds: float = 30.0
    # Key of the non-reversible user id in traces (HMAC-SHA256 of the token's sub). Unset: a
    # random key per process, so ids correlate one process's turns and nothing more.
    trace_user_key: bytes | None = field(default=None, repr=False)
    # Local runs: append one JSON line per turn (its span's attributes and tool timings) here.
    trace_file: Path | None = None
    auth: AuthSettings = field(default_factory=AuthSettings)

    def gateway_limits(self) -> Any:
        """The gateway hop's bounds (imported lazily: the MCP machinery loads only when used)."""
        from mcp_client.client import GatewayLimits

        return GatewayLimits(
            timeout_seconds=self.gateway_timeout_seconds,
            idle_seconds=self.gateway_idle_seconds,
            retry_seconds=self.gateway_retry_seconds,
            max_connections=self.gateway_max_connections,
            tools_ttl_seconds=self.gateway_tools_ttl_seconds,
        )

    def web_search_limits(self) -> Any:
        """The web search hop's bounds (same machinery as the gateway's, its own numbers)."""
        from mcp_client.client import GatewayLimits

        return GatewayLimits(
            timeout_seconds=self.web_search_timeout_seconds,
            idle_seconds=self.gateway_idle_seconds,
            retry_seconds=self.web_search_retry_seconds,
            max_connections=self.gateway_max_connections,
            tools_ttl_seconds=self.gateway_tools_ttl_seconds,
        )


def _csv(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(item.strip() for item in value.split(",") if item.strip())


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


def load_auth_settings(env: dict[str, str], gateway: str | None = None) -> AuthSettings:
    """Manifest values (runtime's, or `gateway`'s), overridden field by field by AUTH_* variables."""
    manifest = Path(env["AGENTCORE_MANIFEST"]) if env.get("AGENTCORE_MANIFEST") else find_manifest()
    base = AuthSettings.from_authorizer(manifest_authorizer(manifest, gateway))
    mode = env.get("AUTH_MODE", "enforce").strip().lower()
    if mode not in AUTH_MODES:
        raise ValueError(f"AUTH_MODE must be one of {', '.join(AUTH_MODES)}")
    overrides: dict[str, Any] = {"mode": mode}
    if env.get("AUTH_DISCOVERY_URL"):
        overrides["discovery_url"] = env["AUTH_DISCOVERY_URL"]
    if env.get("AUTH_JWKS_MIN_REFRESH_SECONDS"):
        overrides["jwks_min_refresh_seconds"] = float(env["AUTH_JWKS_MIN_REFRESH_SECONDS"])
    if env.get("AUTH_LEEWAY_SECONDS"):
        overrides["leeway_seconds"] = int(env["AUTH_LEEWAY_SECONDS"])
    if env.get("AUTH_JWKS_CACHE_TTL_SECONDS"):
        overrides["jwks_cache_ttl_seconds"] = float(env["AUTH_JWKS_CACHE_TTL_SECONDS"])
    for name in ("allowed_clients", "allowed_audience", "allowed_scopes"):
        value = _csv(env.get(f"AUTH_{name.upper()}"))
        if value is not None:
            overrides[name] = value
    return replace(base, **overrides)


def _default_memory_dir() -> Path:
    # Outside the code folder, so `agentcore package` never ships local history.
    manifest = find_manifest()
    if manifest is not None:
        return manifest.parent.parent / ".local" / "sessions"
    return Path(tempfile.gettempdir()) / "customersupport-sessions"


def load_web_search_url(env: dict[str, str], provider: str) -> str | None:
    """The web search MCP URL, or None for no web search.

    ``WEB_SEARCH_MCP_URL`` set → that server, empty → none; unset → the public server with the
    Bedrock model, none with the offline model (offline runs never reach a public host).
    """
    if WEB_SEARCH_URL_ENV not in env:
        return DEFAULT_WEB_SEARCH_URL if provider == "bedrock" else None
    url = env[WEB_SEARCH_URL_ENV].strip()
    if not url:
        return None
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{WEB_SEARCH_URL_ENV} must be an http(s) URL or empty")
    return url


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the environment (``os.environ`` by default) once."""
    env = dict(os.environ if env is None else env)
    provider = env.get("MODEL_PROVIDER", "bedrock").strip().lower()
    if provider not in ("bedrock", "offline"):
        raise ValueError("MODEL_PROVIDER must be 'bedrock' or 'offline'")
    return Settings(
        model_provider=provider,
        model_id=env.get("MODEL_ID") or DEFAULT_MODEL_ID,
        offline_chunk_delay_seconds=float(env.get("OFFLINE_MODEL_CHUNK_DELAY_SECONDS") or 0.0),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        gateway_url=env.get(GATEWAY_URL_ENV) or None,
        memory_id=env.get(MEMORY_ID_ENV) or None,
        local_memory_dir=Path(env.get("LOCAL_MEMORY_DIR") or _default_memory_dir()),
        max_prompt_chars=int(env.get("MAX_PROMPT_CHARS", Settings.max_prompt_chars)),
        session_cache_size=int(env.get("SESSION_CACHE_SIZE", Settings.session_cache_size)),
        body_timeout_seconds=float(env.get("BODY_TIMEOUT_SECONDS", Settings.body_timeout_seconds)),
        max_concurrent_invocations=int(
            env.get("MAX_CONCURRENT_INVOCATIONS", Settings.max_concurrent_invocations)
        ),
        gateway_timeout_seconds=float(env.get("GATEWAY_TIMEOUT_SECONDS", Settings.gateway_timeout_seconds)),
        gateway_idle_seconds=float(env.get("GATEWAY_IDLE_SECONDS", Settings.gateway_idle_seconds)),
        gateway_retry_seconds=float(env.get("GATEWAY_RETRY_SECONDS", Settings.gateway_retry_seconds)),
        gateway_max_connections=int(env.get("GATEWAY_MAX_CONNECTIONS", Settings.gateway_max_connections)),
        memory_timeout_seconds=float(env.get("MEMORY_TIMEOUT_SECONDS", Settings.memory_timeout_seconds)),
        web_search_url=load_web_search_url(env, provider),
        web_search_timeout_seconds=float(
            env.get("WEB_SEARCH_TIMEOUT_SECONDS", Settings.web_search_timeout_seconds)
        ),
        web_search_retry_seconds=float(
            env.get("WEB_SEARCH_RETRY_SECONDS", Settings.web_search_retry_seconds)
        ),
        trace_user_key=env["TRACE_USER_ID_KEY"].encode() if env.get("TRACE_USER_ID_KEY") else None,
        trace_file=Path(env["TRACE_FILE"]) if env.get("TRACE_FILE") else None,
        auth=load_auth_settings(env),
    )
