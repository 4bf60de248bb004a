"""Per-request orchestration: sessions, the caller's gateway connection, the agent turn.

State is per (actor, session) and bounded (LRU). Blocking work — building agents and session
managers, starting MCP clients — runs in threads so the shared worker loop keeps serving others.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from strands import Agent
from strands.agent.conversation_manager import SlidingWindowConversationManager
from strands.models import Model

from auth import Identity, JwtVerifier
from mcp_client.client import (
    CONNECTION_KEY,
    STATUS_KEY,
    GatewayConnection,
    GatewayStatus,
    GatewayTool,
    fingerprint,
    open_connection,
)
from memory.session import get_memory_session_manager
from model.load import load_model
from settings import Settings
from tools import LOCAL_TOOLS

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = """You are a friendly customer-support agent for an electronics store.
Use get_return_policy for return and refund questions, get_product_info for product questions,
and the warranty tool (check_warranty) for warranty status. Answer only from tool results and the
conversation; if a tool fails, say so plainly. Never ask for or reveal credentials."""

ERROR_MESSAGE = "Sorry, something went wrong while answering. Please try again."
HISTORY_WINDOW = 40


@dataclass(eq=False)
class SessionEntry:
    """One caller's session: its agent, the lock serialising its turns, its gateway connection."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    agent: Agent | None = None
    gateway: GatewayConnection | None = None


class SupportService:
    """Everything the entrypoint needs, built from settings on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.verifier = JwtVerifier(settings.auth)
        self._model: Model | None = None
        self._model_lock = threading.Lock()
        self._sessions: OrderedDict[tuple[str, str], SessionEntry] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()  # keeps eviction tasks alive until done

    # -- public ---------------------------------------------------------------------------------
    async def stream(self, prompt: str, identity: Identity, session_id: str | None) -> AsyncIterator[object]:
        """Run one turn and yield text deltas; failures become one generic error event."""
        # Anonymous callers (AUTH_MODE=off, no token) get a fresh actor and no stored history:
        # there is nothing to recognise them by next time.
        actor = identity.actor_id or f"anonymous-{uuid.uuid4().hex}"
        session = session_id or uuid.uuid4().hex
        try:
            entry = self._entry(actor, session)
            async with entry.lock:
                if entry.agent is None:
                    entry.agent = await asyncio.to_thread(
                        self._build_agent, actor, session, bool(identity.actor_id)
                    )
                status = await self._connect_gateway(entry, identity.token)
                agent = entry.agent
                agent.system_prompt = f"{SYSTEM_PROMPT}\nwarranty service: {status.value}"
                state = {
                    CONNECTION_KEY: entry.gateway if status is GatewayStatus.AVAILABLE else None,
                    STATUS_KEY: status,
                }
                async for event in agent.stream_async(prompt, invocation_state=state):
                    if "data" in event and event["data"]:
                        yield event["data"]
        except Exception:  # noqa: BLE001 - callers never see exception text
            logger.exception("turn failed")
            yield {"error": ERROR_MESSAGE}

    async def close(self) -> None:
        """Stop every gateway client (shutdown, tests)."""
        entries, self._sessions = list(self._sessions.values()), OrderedDict()
        for entry in entries:
            await self._close_entry(entry)

    # -- sessions -------------------------------------------------------------------------------
    def _entry(self, actor: str, session: str) -> SessionEntry:
        key = (actor, session)
        entry = self._sessions.get(key)
        if entry is not None:
            self._sessions.move_to_end(key)
            return entry
        entry = self._sessions[key] = SessionEntry()
        while len(self._sessions) > self.settings.session_cache_size:
            _, evicted = self._sessions.popitem(last=False)
            task = asyncio.get_running_loop().create_task(self._close_entry(evicted))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return entry

    @staticmethod
    async def _close_entry(entry: SessionEntry) -> None:
        async with entry.lock:  # never pull a connection from under a running turn
            if entry.gateway is not None:
                connection, entry.gateway = entry.gateway, None
                await asyncio.to_thread(connection.close)

    def _model_instance(self) -> Model:
        with self._model_lock:
            if self._model is None:
                self._model = load_model(self.settings)
            return self._model

    def _build_agent(self, actor: str, session: str, persistent: bool) -> Agent:
        memory = get_memory_session_manager(self.settings, session, actor) if persistent else None
        return Agent(
            model=self._model_instance(),
            tools=list(LOCAL_TOOLS),
            system_prompt=SYSTEM_PROMPT,
            session_manager=memory,
            conversation_manager=SlidingWindowConversationManager(window_size=HISTORY_WINDOW),
            callback_handler=None,
            agent_id="customer_support",
            name="CustomerSupport",
        )

    # -- gateway --------------------------------------------------------------------------------
    async def _connect_gateway(self, entry: SessionEntry, token: str | None) -> GatewayStatus:
        """Make entry.gateway carry exactly this request's token; report what is usable."""
        if not self.settings.gateway_url:
            return GatewayStatus.NOT_CONFIGURED
        current = entry.gateway
        if token is None:
            return GatewayStatus.SIGN_IN_REQUIRED
        if current is not None and hmac.compare_digest(current.token_fingerprint, fingerprint(token)):
            return GatewayStatus.AVAILABLE
        if current is not None:
            entry.gateway = None
            await asyncio.to_thread(current.close)
        try:
            entry.gateway = await asyncio.to_thread(
                open_connection, self.settings.gateway_url, token, self.settings.gateway_timeout_seconds
            )
        except Exception:  # noqa: BLE001 - down or rejecting: the turn goes on without warranty tools
            logger.warning("gateway unavailable", exc_info=True)
            return GatewayStatus.UNAVAILABLE
        assert entry.agent is not None
        registered = set(entry.agent.tool_names)
        for tool in entry.gateway.tools:
            if tool.name not in registered:
                entry.agent.tool_registry.register_tool(
                    GatewayTool(tool, self.settings.gateway_timeout_seconds)
                )
        return GatewayStatus.AVAILABLE
