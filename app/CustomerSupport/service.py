"""Per-request orchestration: sessions, the turn's MCP sessions, the agent turn, its trace span.

Two MCP hops per turn, opened concurrently: the gateway (bound to the caller's token) and the web
search server (bound to no credential at all). A failing or slow hop costs at most its own
timeout and the turn goes on without its tools.

State is per (actor, session) and bounded (LRU); a cached session holds no connection, thread or
file descriptor. Gateway I/O runs as bounded coroutines on the app's loop (see mcp_client).
Building an agent (and its session manager, which may call AgentCore Memory) blocks, so it runs
on a small executor of its own: a slow memory backend can exhaust only that, never the loop or
the default pool that local tools use.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strands import Agent
from strands.agent.conversation_manager import SlidingWindowConversationManager
from strands.models import Model

from auth import Identity, JwtVerifier
from mcp_client.status import STATUS_KEY, TURN_KEY, WEB_STATUS_KEY, WEB_TURN_KEY, GatewayStatus
from memory.session import get_memory_session_manager, local_preferences
from model.load import load_model
from settings import Settings
from telemetry import TRACE_KEY, ToolTiming, TurnTracer, finish
from tools import LOCAL_TOOLS

if TYPE_CHECKING:  # the MCP machinery is imported only when a gateway is configured
    from mcp_client.client import Gateway, GatewayTurn

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = """You are a friendly customer-support agent for an electronics store.
Use get_return_policy for return and refund questions, get_product_info for product questions,
the warranty tool (check_warranty) for warranty status, and the web search tool only for general
how-to questions the other tools cannot answer (never put personal data into a search). Answer
only from tool results, the conversation and the remembered context; if a tool fails, say so
plainly. Never ask for or reveal credentials."""

ERROR_MESSAGE = "Sorry, something went wrong while answering. Please try again."
HISTORY_WINDOW = 40
AGENT_BUILD_WORKERS = 4
MAX_WEB_TOOLS = 8
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what the Bedrock Converse API accepts


@dataclass(eq=False)
class SessionEntry:
    """One caller's session: its agent and the lock serialising its turns (no connections)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    agent: Agent | None = None
    gateway_tools: set[str] = field(default_factory=set)
    web_tools: set[str] = field(default_factory=set)


class SupportService:
    """Everything the entrypoint needs, built from settings on first use."""

    def __init__(self, settings: Settings, tracer_provider: Any = None) -> None:
        self.settings = settings
        self.tracer = TurnTracer(settings.trace_user_key, settings.trace_file, tracer_provider)
        self.verifier = JwtVerifier(settings.auth)
        self._model: Model | None = None
        self._model_lock = threading.Lock()
        self._sessions: OrderedDict[tuple[str, str], SessionEntry] = OrderedDict()
        self._gateway: Gateway | None = None
        self._web_search: Gateway | None = None
        self._builder: ThreadPoolExecutor | None = None

    # -- public ---------------------------------------------------------------------------------
    async def stream(self, prompt: str, identity: Identity, session_id: str | None) -> AsyncIterator[object]:
        """Run one turn and yield text deltas; failures become one generic error event."""
        # Anonymous callers (AUTH_MODE=off, no token) get a fresh actor and no stored history:
        # there is nothing to recognise them by next time.
        actor = identity.actor_id or f"anonymous-{uuid.uuid4().hex}"
        session = session_id or uuid.uuid4().hex
        turn: GatewayTurn | None = None
        web_turn: GatewayTurn | None = None
        status = web_status = GatewayStatus.NOT_CONFIGURED
        with self.tracer.turn(identity.actor_id, session) as record:
            error: BaseException | None = None
            try:
                entry = self._entry(actor, session)
                async with entry.lock:
                    if entry.agent is None:
                        entry.agent = await self._build(actor, session, identity.actor_id)
                    (status, turn), (web_status, web_turn) = await asyncio.gather(
                        self._gateway_turn(entry, identity.token), self._web_search_turn(entry)
                    )
                    agent = entry.agent
                    agent.system_prompt = (
                        f"{SYSTEM_PROMPT}\nwarranty service: {status.value}\nweb search: {web_status.value}"
                    )
                    state = {
                        TURN_KEY: turn if status is GatewayStatus.AVAILABLE else None,
                        STATUS_KEY: status,
                        WEB_TURN_KEY: web_turn if web_status is GatewayStatus.AVAILABLE else None,
                        WEB_STATUS_KEY: web_status,
                        TRACE_KEY: record,
                    }
                    async for event in agent.stream_async(prompt, invocation_state=state):
                        if "data" in event and event["data"]:
                            yield event["data"]
            except Exception as exc:
                error = exc
                logger.exception("turn failed")
                yield {"error": ERROR_MESSAGE}
            finally:
                finish(record, status.value, web_status.value, error)
                for opened in (turn, web_turn):
                    if opened is not None:
                        opened.close()  # in the background: a stuck close never holds the answer

    async def close(self) -> None:
        """Drop sessions, end gateway sessions and close the pool (shutdown); bounded."""
        self._sessions = OrderedDict()
        for hop in (self._gateway, self._web_search):
            if hop is not None:
                await hop.aclose()
        if self._builder is not None:
            self._builder.shutdown(wait=False, cancel_futures=True)
            self._builder = None

    # -- sessions -------------------------------------------------------------------------------
    def _entry(self, actor: str, session: str) -> SessionEntry:
        key = (actor, session)
        entry = self._sessions.get(key)
        if entry is not None:
            self._sessions.move_to_end(key)
            return entry
        entry = self._sessions[key] = SessionEntry()
        while len(self._sessions) > self.settings.session_cache_size:
            self._sessions.popitem(last=False)  # holds no connection: nothing to close
        return entry

    def _model_instance(self) -> Model:
        with self._model_lock:
            if self._model is None:
                self._model = load_model(self.settings)
            return self._model

    async def _build(self, actor: str, session: str, sub: str | None) -> Agent:
        if self._builder is None:
            self._builder = ThreadPoolExecutor(AGENT_BUILD_WORKERS, thread_name_prefix="agent-build")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._builder, self._build_agent, actor, session, sub)

    def _build_agent(self, actor: str, session: str, sub: str | None) -> Agent:
        persistent = bool(sub)
        memory = get_memory_session_manager(self.settings, session, actor) if persistent else None
        preferences = local_preferences(self.settings, actor) if persistent else None
        return Agent(
            model=self._model_instance(),
            tools=list(LOCAL_TOOLS),
            system_prompt=SYSTEM_PROMPT,
            session_manager=memory,
            hooks=[ToolTiming(), *([preferences] if preferences is not None else [])],
            # Strands' own agent, model and tool spans carry the turn span's identifying attributes.
            trace_attributes=self.tracer.attributes(sub, session),
            conversation_manager=SlidingWindowConversationManager(window_size=HISTORY_WINDOW),
            callback_handler=None,
            agent_id="customer_support",
            name="CustomerSupport",
        )

    # -- gateway --------------------------------------------------------------------------------
    def _gateway_hop(self) -> Gateway:
        if self._gateway is None:
            from mcp_client.client import Gateway

            assert self.settings.gateway_url is not None
            self._gateway = Gateway(self.settings.gateway_url, self.settings.gateway_limits())
        return self._gateway

    async def _gateway_turn(
        self, entry: SessionEntry, token: str | None
    ) -> tuple[GatewayStatus, GatewayTurn | None]:
        """This turn's gateway session (bound to this request's token) and what to tell the model."""
        if not self.settings.gateway_url:
            return GatewayStatus.NOT_CONFIGURED, None
        if token is None:
            return GatewayStatus.SIGN_IN_REQUIRED, None
        from mcp_client.client import GatewayError, GatewayTool

        turn = self._gateway_hop().turn(token)
        try:
            tools = await turn.tools()  # no I/O when this token's listing is cached
        except GatewayError as err:  # down, hung or rejecting: the turn goes on without warranty tools
            logger.warning("gateway unavailable: %s", err)
            turn.close()
            return GatewayStatus.UNAVAILABLE, None
        assert entry.agent is not None
        for tool in tools:
            if tool.name not in entry.gateway_tools:
                entry.agent.tool_registry.register_tool(
                    GatewayTool(tool, self.settings.gateway_timeout_seconds)
                )
                entry.gateway_tools.add(tool.name)
        return GatewayStatus.AVAILABLE, turn

    # -- web search -----------------------------------------------------------------------------
    def _web_search_hop(self) -> Gateway:
        if self._web_search is None:
            from mcp_client.client import Gateway

            assert self.settings.web_search_url is not None
            self._web_search = Gateway(
                self.settings.web_search_url,
                self.settings.web_search_limits(),
                forwards_token=False,  # the caller's credentials go to our gateway only
                name="web search",
            )
        return self._web_search

    async def _web_search_turn(self, entry: SessionEntry) -> tuple[GatewayStatus, GatewayTurn | None]:
        """This turn's web search session (no credential of any caller) and its status."""
        if not self.settings.web_search_url:
            return GatewayStatus.NOT_CONFIGURED, None
        from mcp_client.client import WEB_SEARCH_UNAVAILABLE_TEXT, GatewayError, GatewayTool

        turn = self._web_search_hop().anonymous_turn()
        try:
            tools = await turn.tools()  # listed once per TTL for the whole process
        except GatewayError as err:
            logger.warning("web search unavailable: %s", err)
            turn.close()
            return GatewayStatus.UNAVAILABLE, None
        assert entry.agent is not None
        registry = entry.agent.tool_registry
        for tool in tools:
            if tool.name in entry.web_tools:
                continue
            # A public server's listing is not ours: a name the model API rejects would fail every
            # turn, a clash would shadow our own tool, and a long list would bloat every prompt.
            if not _TOOL_NAME.fullmatch(tool.name) or len(entry.web_tools) >= MAX_WEB_TOOLS:
                logger.warning("web search tool skipped (bad name or too many tools)")
                continue
            if tool.name in registry.registry:
                logger.warning("web search tool %s clashes with a tool of the agent; skipped", tool.name)
                continue
            registry.register_tool(
                GatewayTool(
                    tool,
                    self.settings.web_search_timeout_seconds,
                    turn_key=WEB_TURN_KEY,
                    status_key=WEB_STATUS_KEY,
                    unavailable_text=WEB_SEARCH_UNAVAILABLE_TEXT,
                )
            )
            entry.web_tools.add(tool.name)
        return GatewayStatus.AVAILABLE, turn
