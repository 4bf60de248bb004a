"""What an MCP hop is, as data (no MCP imports: settings build these on every start).

A hop is a remote MCP server whose tools the agent offers the model: the gateway (bound to the
caller's token) and the web search server (bound to no credential). ``settings.py`` builds one
``HopSpec`` per configured hop; ``service.py`` opens every hop through one function, and the
machinery in ``client.py`` reads nothing but the spec. Adding a hop is a settings + spec change.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Protocol

TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what the Bedrock Converse API accepts
TOOLS_CACHE_SIZE = 1024  # token listings kept per hop
MAX_GATEWAY_TOOLS = 32  # our own gateway's tools offered to one session
MAX_WEB_TOOLS = 8  # a public server's tools offered to one session


class Credential(enum.Enum):
    """What a hop's requests carry of the caller."""

    CALLER_TOKEN = "the caller's token"  # every request carries this turn's own bearer token
    NONE = "none"  # no Authorization, cookie or other header of the caller, ever


@dataclass(frozen=True)
class HopLimits:
    """Every bound of a hop (the environment variables are declared in settings.py)."""

    timeout_seconds: float  # one turn's waits on this hop together: connect, list, call
    idle_seconds: float  # pooled connections idle this long are closed
    retry_seconds: float  # after an outage the hop is skipped this long
    max_connections: int  # the hop's shared connection pool
    tools_ttl_seconds: float  # how long a token's tool listing is reused
    tools_cache_size: int  # listings kept (LRU over token fingerprints)
    sessions_cache_size: int  # MCP sessions kept open (LRU over token fingerprints)


@dataclass(frozen=True)
class HopSpec:
    """One MCP hop: where it is, its bounds, what it carries, what the model hears, what it may add.

    Tool filter (every hop): a listed tool is offered only if its name is one the model API
    accepts, it shadows no tool the agent already has, and the hop has offered fewer than
    ``max_tools`` tools to this session: a listing is not ours to trust blindly.
    """

    key: str  # "gateway", "web_search": the turn state, trace attribute and log name
    label: str  # the model is told "<label>: <status>" every turn
    url: str | None  # None: not configured
    limits: HopLimits
    credential: Credential
    unavailable_text: str  # the tool result when the hop fails this turn
    max_tools: int
    # A tool argument that names the caller (see tools.py): hidden from the model and always set
    # to the verified token's sub. Only for hops that carry the caller's token.
    identity_argument: str | None = None
    # Tools (their own names, without the target prefix) that write: each call waits for the
    # customer's confirmation (confirm.py). Their per-turn context arguments are set by the agent.
    confirm_tools: frozenset[str] = frozenset()
    context_arguments: tuple[str, ...] = ()  # "session_id", "trace_id": hidden, set per turn

    @property
    def name(self) -> str:
        """The hop's name in logs."""
        return self.key.replace("_", " ")


class HopSettings(Protocol):
    """The settings the hops are built from (settings.Settings has them; no import, no cycle)."""

    @property
    def gateway_url(self) -> str | None: ...  # noqa: D102
    @property
    def web_search_url(self) -> str | None: ...  # noqa: D102
    @property
    def gateway_timeout_seconds(self) -> float: ...  # noqa: D102
    @property
    def gateway_retry_seconds(self) -> float: ...  # noqa: D102
    @property
    def web_search_timeout_seconds(self) -> float: ...  # noqa: D102
    @property
    def web_search_retry_seconds(self) -> float: ...  # noqa: D102
    @property
    def gateway_idle_seconds(self) -> float: ...  # noqa: D102
    @property
    def gateway_max_connections(self) -> int: ...  # noqa: D102
    @property
    def gateway_tools_ttl_seconds(self) -> float: ...  # noqa: D102
    @property
    def gateway_session_cache_size(self) -> int: ...  # noqa: D102


def hop_specs(settings: HopSettings) -> tuple[HopSpec, ...]:
    """Every MCP hop the agent opens per turn, in the order the model is told about them."""
    gateway = HopSpec(
        key="gateway",
        label="warranty service",
        url=settings.gateway_url,
        limits=_limits(settings, settings.gateway_timeout_seconds, settings.gateway_retry_seconds),
        credential=Credential.CALLER_TOKEN,
        unavailable_text="The warranty service is unavailable right now.",
        max_tools=MAX_GATEWAY_TOOLS,
        identity_argument="customer_id",  # the account tools' contract (tool_schemas/)
        confirm_tools=frozenset({"start_return", "create_support_ticket"}),
        context_arguments=("session_id", "trace_id"),
    )
    web_search = HopSpec(
        key="web_search",
        label="web search",
        url=settings.web_search_url,
        limits=_limits(settings, settings.web_search_timeout_seconds, settings.web_search_retry_seconds),
        credential=Credential.NONE,  # the caller's credentials go to our gateway only
        unavailable_text="Web search is unavailable right now.",
        max_tools=MAX_WEB_TOOLS,
    )
    return (gateway, web_search)


def _limits(settings: HopSettings, timeout_seconds: float, retry_seconds: float) -> HopLimits:
    return HopLimits(
        timeout_seconds=timeout_seconds,
        idle_seconds=settings.gateway_idle_seconds,
        retry_seconds=retry_seconds,
        max_connections=settings.gateway_max_connections,
        tools_ttl_seconds=settings.gateway_tools_ttl_seconds,
        tools_cache_size=TOOLS_CACHE_SIZE,
        sessions_cache_size=settings.gateway_session_cache_size,
    )
