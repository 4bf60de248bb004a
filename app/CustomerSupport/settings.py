"""All configuration the agent reads: ``ENV_VARS`` declares each environment variable once.

``load_settings`` reads the environment only through the declarations (name, kind, default, doc),
the dataclasses take their defaults from them and docs/configuration.md shows them (tested). The
JWT authorizer comes from agentcore/agentcore.json locally, from runtime ``envVars`` when deployed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auth.config import AUTH_VARS, AuthSettings, find_manifest, load_auth_settings
from auth.edge_config import EDGE_VARS
from envvars import (
    COUNT,
    OPTIONAL_PATH,
    OPTIONAL_TEXT,
    OPTIONAL_URL,
    PORT,
    SECONDS,
    SECONDS_OR_ZERO,
    SECRET_KEY,
    TEXT,
    ConfigError,
    Var,
    choice,
    markdown_table,
)
from feedback_store import FEEDBACK_VARS, FeedbackSettings, load_feedback_settings

# Set by the deployment (scripts/deploy/manifest_check.py checks the manifest sets what these name).
if TYPE_CHECKING:
    from mcp_client.spec import HopSpec

GATEWAY_URL_ENV = "AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL"
MEMORY_ID_ENV = "MEMORY_CUSTOMERSUPPORTMEMORY_ID"
# The public web-search MCP server the AgentCore CLI's Strands template connects to (no sign-up).
DEFAULT_WEB_SEARCH_URL = "https://mcp.exa.ai/mcp"
DEFAULT_MODEL_ID = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
CODE_DIR = Path(__file__).resolve().parent

# -- the environment variables ------------------------------------------------------------------
HOST = Var("HOST", TEXT, "0.0.0.0", "interface `python main.py` serves on (the runtime's contract: all)")
PORT_VAR = Var("PORT", PORT, 8080, "port `python main.py` serves on")
MODEL_PROVIDER = Var(
    "MODEL_PROVIDER",
    choice("bedrock", "offline"),
    "bedrock",
    "`bedrock` or `offline` (the scripted model)",
    field="model_provider",
)
MODEL_ID = Var(
    "MODEL_ID", TEXT, DEFAULT_MODEL_ID, "Bedrock model; region from `AWS_REGION`", field="model_id"
)
AWS_REGION = Var("AWS_REGION", OPTIONAL_TEXT, None, "AWS region of Bedrock and Memory")
AWS_DEFAULT_REGION = Var("AWS_DEFAULT_REGION", OPTIONAL_TEXT, None, "used when `AWS_REGION` is unset")
GATEWAY_URL = Var(
    GATEWAY_URL_ENV, OPTIONAL_URL, None, "Gateway MCP URL (set by the runtime)", field="gateway_url"
)
MEMORY_ID = Var(
    MEMORY_ID_ENV,
    OPTIONAL_TEXT,
    None,
    "AgentCore Memory id (set by the runtime); unset → local files",
    field="memory_id",
)
LOCAL_MEMORY_DIR = Var(
    "LOCAL_MEMORY_DIR",
    OPTIONAL_PATH,
    None,
    "local history, one directory per actor",
    default_doc="`.local/sessions` in a checkout, else the temp dir",
)
OFFLINE_MODEL_CHUNK_DELAY_SECONDS = Var(
    "OFFLINE_MODEL_CHUNK_DELAY_SECONDS",
    SECONDS_OR_ZERO,
    0.0,
    "pause between the offline model's text pieces, like a real model's latency",
    field="offline_chunk_delay_seconds",
)
MAX_PROMPT_CHARS = Var(
    "MAX_PROMPT_CHARS",
    COUNT,
    8_000,
    "longer prompts get 413; bodies over 64 KiB too; JSON nested deeper than 32 levels gets 400",
    field="max_prompt_chars",
)
BODY_TIMEOUT_SECONDS = Var(
    "BODY_TIMEOUT_SECONDS",
    SECONDS,
    10.0,
    "the whole request body must arrive within this time, else 408 and the connection is closed",
    field="body_timeout_seconds",
)
MAX_CONCURRENT_INVOCATIONS = Var(
    "MAX_CONCURRENT_INVOCATIONS",
    COUNT,
    64,
    "answers streaming at once; more get 503 with `Retry-After: 1` (8 more threads are kept for `/ping`)",
    field="max_concurrent_invocations",
)
SESSION_CACHE_SIZE = Var(
    "SESSION_CACHE_SIZE",
    COUNT,
    128,
    "sessions kept in memory (LRU); a cached session holds no connection",
    field="session_cache_size",
)
GATEWAY_TIMEOUT_SECONDS = Var(
    "GATEWAY_TIMEOUT_SECONDS",
    SECONDS,
    15.0,
    "budget for all gateway waits of one turn together (connect, list, call); closing runs in the "
    "background and is cut off after the same time",
    field="gateway_timeout_seconds",
)
GATEWAY_RETRY_SECONDS = Var(
    "GATEWAY_RETRY_SECONDS",
    SECONDS_OR_ZERO,
    2.0,
    "after a gateway timeout, transport error or 5xx, turns skip the gateway (and say it is "
    "unavailable) for this long",
    field="gateway_retry_seconds",
)
GATEWAY_IDLE_SECONDS = Var(
    "GATEWAY_IDLE_SECONDS",
    SECONDS,
    30.0,
    "MCP sessions and pooled connections of a hop unused this long are closed; reopened on demand",
    field="gateway_idle_seconds",
)
GATEWAY_MAX_CONNECTIONS = Var(
    "GATEWAY_MAX_CONNECTIONS",
    COUNT,
    128,
    "size of each hop's connection pool (above what in-flight turns use: hung calls starve no one)",
    field="gateway_max_connections",
)
GATEWAY_SESSION_CACHE_SIZE = Var(
    "GATEWAY_SESSION_CACHE_SIZE",
    COUNT,
    1024,
    "MCP sessions each hop keeps open for reuse (LRU by token fingerprint; one per token, ended at "
    "the token's expiry or after the idle time)",
    field="gateway_session_cache_size",
)
MEMORY_TIMEOUT_SECONDS = Var(
    "MEMORY_TIMEOUT_SECONDS",
    SECONDS,
    10.0,
    "connect and read timeout of every AgentCore Memory call (2 attempts)",
    field="memory_timeout_seconds",
)
WEB_SEARCH_MCP_URL = Var(
    "WEB_SEARCH_MCP_URL",
    OPTIONAL_URL,
    None,
    "the web search MCP server; set empty to disable. It never receives a caller's credential",
    default_doc="`https://mcp.exa.ai/mcp` with `MODEL_PROVIDER=bedrock`; none with `offline`",
)
WEB_SEARCH_TIMEOUT_SECONDS = Var(
    "WEB_SEARCH_TIMEOUT_SECONDS",
    SECONDS,
    10.0,
    "budget for all web search waits of one turn together",
    field="web_search_timeout_seconds",
)
WEB_SEARCH_RETRY_SECONDS = Var(
    "WEB_SEARCH_RETRY_SECONDS",
    SECONDS_OR_ZERO,
    30.0,
    "after a web search failure, turns skip it (the model says it is unavailable) for this long",
    field="web_search_retry_seconds",
)
TRACE_USER_ID_KEY = Var(
    "TRACE_USER_ID_KEY",
    SECRET_KEY,
    None,
    "key of the HMAC that turns `sub` into the traces' `user.id`; a secret",
    default_doc="random per process",
    secret=True,
    field="trace_user_key",
)
TRACE_FILE = Var(
    "TRACE_FILE", OPTIONAL_PATH, None, "local runs: append one JSON line per turn here", field="trace_file"
)

_DECLARED_HERE = [v for v in globals().values() if isinstance(v, Var)]
ENV_VARS: tuple[Var[Any], ...] = (*_DECLARED_HERE, *FEEDBACK_VARS, *AUTH_VARS, *EDGE_VARS)


@dataclass(frozen=True)
class ServerSettings:
    """How ``python main.py`` serves, as the AgentCore Runtime starts a CodeZip agent.

    The runtime sends traffic to port 8080 on every interface; ``PORT`` and ``HOST`` override
    (local runs and tests bind 127.0.0.1). On SIGTERM in-flight requests get
    ``shutdown_grace_seconds`` and closing the gateway clients ``close_timeout_seconds``, so the
    process exits within 5 s.
    """

    host: str = HOST.default
    port: int = PORT_VAR.default
    shutdown_grace_seconds: float = 2.0
    close_timeout_seconds: float = 2.0


def load_server_settings(env: Mapping[str, str] | None = None) -> ServerSettings:
    """Host and port from ``HOST``/``PORT`` (``os.environ`` by default); ConfigError if invalid."""
    env = os.environ if env is None else env
    return ServerSettings(host=HOST.read(env), port=PORT_VAR.read(env))


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of the CustomerSupport agent (defaults: the declarations above)."""

    model_provider: str = MODEL_PROVIDER.default
    model_id: str = MODEL_ID.default
    offline_chunk_delay_seconds: float = OFFLINE_MODEL_CHUNK_DELAY_SECONDS.default
    region: str | None = None
    gateway_url: str | None = None
    memory_id: str | None = None
    local_memory_dir: Path = field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "customersupport-sessions"
    )
    max_prompt_chars: int = MAX_PROMPT_CHARS.default
    max_body_bytes: int = 64 * 1024
    max_json_depth: int = 32
    body_timeout_seconds: float = BODY_TIMEOUT_SECONDS.default
    max_concurrent_invocations: int = MAX_CONCURRENT_INVOCATIONS.default
    session_cache_size: int = SESSION_CACHE_SIZE.default
    gateway_timeout_seconds: float = GATEWAY_TIMEOUT_SECONDS.default
    gateway_idle_seconds: float = GATEWAY_IDLE_SECONDS.default
    gateway_retry_seconds: float = GATEWAY_RETRY_SECONDS.default
    gateway_max_connections: int = GATEWAY_MAX_CONNECTIONS.default
    gateway_session_cache_size: int = GATEWAY_SESSION_CACHE_SIZE.default
    gateway_tools_ttl_seconds: float = 300.0
    memory_timeout_seconds: float = MEMORY_TIMEOUT_SECONDS.default
    web_search_url: str | None = None  # None: no web search
    web_search_timeout_seconds: float = WEB_SEARCH_TIMEOUT_SECONDS.default
    web_search_retry_seconds: float = WEB_SEARCH_RETRY_SECONDS.default
    trace_user_key: bytes | None = field(default=None, repr=False)
    trace_file: Path | None = None
    auth: AuthSettings = field(default_factory=AuthSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)

    def hops(self) -> tuple[HopSpec, ...]:
        """Every MCP hop the agent opens per turn (declared in mcp_client/spec.py)."""
        from mcp_client.spec import hop_specs

        return hop_specs(self)


def _default_memory_dir() -> Path:
    # Outside the code folder, so `agentcore package` never ships local history.
    manifest = find_manifest()
    if manifest is not None:
        return manifest.parent.parent / ".local" / "sessions"
    return Path(tempfile.gettempdir()) / "customersupport-sessions"


def load_web_search_url(env: Mapping[str, str], provider: str) -> str | None:
    """The web search MCP URL, or None for no web search.

    ``WEB_SEARCH_MCP_URL`` set → that server, empty → none; unset → the public server with the
    Bedrock model, none with the offline model (offline runs never reach a public host).
    """
    if WEB_SEARCH_MCP_URL.name not in env:
        return DEFAULT_WEB_SEARCH_URL if provider == "bedrock" else None
    return WEB_SEARCH_MCP_URL.read(env)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the environment (``os.environ`` by default) once; ConfigError names a bad variable."""
    env = os.environ if env is None else env
    direct = {var.field: var.read(env) for var in ENV_VARS if var.field is not None}
    for var in EDGE_VARS:  # read again by auth/edge.py when the service is built; a bad value stops start-up
        var.read(env)
    return Settings(
        **direct,
        region=AWS_REGION.read(env) or AWS_DEFAULT_REGION.read(env),
        local_memory_dir=LOCAL_MEMORY_DIR.read(env) or _default_memory_dir(),
        web_search_url=load_web_search_url(env, direct["model_provider"]),
        auth=load_auth_settings(env),
        feedback=load_feedback_settings(env),
    )


def configuration_table() -> str:
    """The table of every variable, as docs/configuration.md shows it."""
    return markdown_table(ENV_VARS)


__all__ = ["ENV_VARS", "AuthSettings", "ConfigError", "configuration_table", "load_auth_settings"]
