"""Per-request orchestration: sessions, the turn's MCP sessions, the agent turn, its trace span.

Every MCP hop the settings declare (``mcp_client.spec.hop_specs``: the gateway, bound to the
caller's token, and the web search server, bound to no credential) is opened per turn by one
function, concurrently. A failing or slow hop costs at most its own timeout and the turn goes on
without its tools.

State is per (actor, session) and bounded (LRU); a cached session holds no connection, thread or
file descriptor. Gateway I/O runs as bounded coroutines on the app's loop (see mcp_client).
Building an agent (and its session manager, which may call AgentCore Memory) blocks, so it runs
on a small executor of its own: a slow memory backend can exhaust only that, never the loop or
the default pool that local tools use.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import confirm_turn
from confirm import CONFIRM_KEY, ConfirmDecision, ConfirmWrites, PendingActions, TurnConfirm
from strands import Agent
from strands.agent.conversation_manager import SlidingWindowConversationManager
from strands.models import Model

from auth import Identity, JwtVerifier
from mcp_client.spec import TOOL_NAME, Credential, HopSpec
from mcp_client.status import HOPS_KEY, HopState, HopStatus
from memory.session import get_memory_session_manager, local_preferences
from model.load import load_model
from settings import Settings
from telemetry import TRACE_KEY, ToolTiming, TurnTracer, finish
from tools import LOCAL_TOOLS

if TYPE_CHECKING:  # the MCP machinery is imported only when a hop is configured
    from mcp_client.client import McpHop

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = """You are a friendly customer-support agent for an electronics store.
Use get_return_policy for return and refund questions, get_product_info for product questions,
the warranty tool (check_warranty) for warranty status by product id and purchase date, and the
web search tool only for general how-to questions the other tools cannot answer (never put
personal data into a search).
For the customer's own orders use the account tools: list_my_orders for "where is my order" or
"what did I order", get_order for one order's status, lines and tracking, and
check_order_warranty for "is my <product> still under warranty" (find the order with
list_my_orders first if the customer gives no order id; the purchase date comes from the order).
These tools only ever act for the signed-in customer: never ask for, accept or pass a customer
id, and do not offer to look up anyone else's orders.
start_return and create_support_ticket change things: the customer confirms each call in their
app before it runs (you cannot confirm for them); say it is done only when the tool result says so.
A start_return refused with "Denied by policy: ReturnsAboveTheLimitNeedAPerson" is over the refund
limit a person must approve: say so plainly, say nothing was done, and offer to hand the case to a
person (create_support_ticket, once the customer agrees).
Answer only from tool results, the conversation and the remembered context; if a tool fails, say
so plainly. Never ask for or reveal credentials."""

ERROR_MESSAGE = "Sorry, something went wrong while answering. Please try again."
HISTORY_WINDOW = 40
AGENT_BUILD_WORKERS = 4


@dataclass(eq=False)
class SessionEntry:
    """One caller's session: its agent and the lock serialising its turns (no connections)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    agent: Agent | None = None
    hop_tools: dict[str, set[str]] = field(default_factory=dict)  # hop key -> tools it added


class SupportService:
    """Everything the entrypoint needs, built from settings on first use."""

    def __init__(self, settings: Settings, tracer_provider: Any = None) -> None:
        self.settings = settings
        self.tracer = TurnTracer(settings.trace_user_key, settings.trace_file, tracer_provider)
        self.verifier = JwtVerifier(settings.auth)
        self._model: Model | None = None
        self._model_lock = threading.Lock()
        self._sessions: OrderedDict[tuple[str, str], SessionEntry] = OrderedDict()
        self.hops = settings.hops()
        self._hops: dict[str, McpHop] = {}
        self._builder: ThreadPoolExecutor | None = None
        self.pending = PendingActions()  # confirmation requests waiting for their customer
        gateway = next((spec for spec in self.hops if spec.confirm_tools), None)
        self.confirm_tools = gateway.confirm_tools if gateway is not None else frozenset()

    # -- public ---------------------------------------------------------------------------------
    async def stream(
        self,
        prompt: str | None,
        identity: Identity,
        session_id: str | None,
        decision: ConfirmDecision | None = None,
        can_confirm: bool = False,
    ) -> AsyncIterator[object]:
        """Run one turn and yield text deltas; failures become one generic error event.

        A turn is a prompt, or the customer's decision on a pending confirmation (confirm.py).
        """
        # Anonymous callers (AUTH_MODE=off, no token) get a fresh actor and no stored history:
        # there is nothing to recognise them by next time.
        actor = identity.actor_id or f"anonymous-{uuid.uuid4().hex}"
        session = session_id or uuid.uuid4().hex
        opened: dict[str, HopState] = {spec.key: HopState(HopStatus.NOT_CONFIGURED) for spec in self.hops}
        confirm = TurnConfirm(identity.actor_id, session, can_confirm)
        with self.tracer.turn(identity.actor_id, session) as record:
            error: BaseException | None = None
            try:
                entry = self._entry(actor, session)
                async with entry.lock:
                    if entry.agent is None:
                        entry.agent = await self._build(actor, session, identity.actor_id)
                    agent_input, first = confirm_turn.begin(
                        self.pending, entry.agent, confirm, prompt, decision
                    )
                    for item in first:
                        yield item
                    if agent_input is None:
                        return
                    states = await asyncio.gather(*(self._open_hop(entry, s, identity) for s in self.hops))
                    opened = {spec.key: state for spec, state in zip(self.hops, states, strict=True)}
                    agent = entry.agent
                    agent.system_prompt = "\n".join(
                        [SYSTEM_PROMPT, *(f"{s.label}: {opened[s.key].status.value}" for s in self.hops)]
                    )
                    state = {HOPS_KEY: opened, TRACE_KEY: record, CONFIRM_KEY: confirm}
                    result = None
                    async for event in agent.stream_async(agent_input, invocation_state=state):
                        if "data" in event and event["data"]:
                            yield event["data"]
                        result = event.get("result", result)
                    for item in confirm_turn.finish(self.pending, agent, result, confirm):
                        yield item
            except Exception as exc:
                error = exc
                logger.exception("turn failed")
                yield {"error": ERROR_MESSAGE}
            finally:
                finish(record, {key: hop.status.value for key, hop in opened.items()}, error)
                confirm_turn.audit(record.span, confirm)
                for hop in opened.values():
                    if hop.turn is not None:
                        hop.turn.close()  # in the background: a stuck close never holds the answer

    async def close(self) -> None:
        """Drop sessions, end gateway sessions and close the pool (shutdown); bounded."""
        self._sessions = OrderedDict()
        for hop in self._hops.values():
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
            # ConfirmWrites last: it checks the tool use exactly as it will run.
            hooks=[
                ToolTiming(),
                *([preferences] if preferences is not None else []),
                ConfirmWrites(self.confirm_tools),
            ],
            # Strands' own agent, model and tool spans carry the turn span's identifying attributes.
            trace_attributes=self.tracer.attributes(sub, session),
            conversation_manager=SlidingWindowConversationManager(window_size=HISTORY_WINDOW),
            callback_handler=None,
            agent_id="customer_support",
            name="CustomerSupport",
        )

    # -- MCP hops -------------------------------------------------------------------------------
    async def _open_hop(self, entry: SessionEntry, spec: HopSpec, identity: Identity) -> HopState:
        """This turn's session with one hop (bound as its credential rule says) and its status."""
        if not spec.url:
            return HopState(HopStatus.NOT_CONFIGURED)
        token = identity.token if spec.credential is Credential.CALLER_TOKEN else None
        if spec.credential is Credential.CALLER_TOKEN and token is None:
            return HopState(HopStatus.SIGN_IN_REQUIRED)
        from mcp_client.client import McpHop
        from mcp_client.errors import HopError

        hop = self._hops.get(spec.key)
        if hop is None:
            hop = self._hops[spec.key] = McpHop(spec)
        exp = identity.claims.get("exp") if token is not None else None
        turn = hop.turn(
            token, identity.actor_id if token else None, exp if isinstance(exp, (int, float)) else None
        )
        try:
            tools = await turn.tools()  # no I/O when this token's listing is cached
        except HopError as err:  # down, hung or rejecting: the turn goes on without its tools
            logger.warning("%s unavailable: %s", spec.name, err)
            turn.close()
            return HopState(HopStatus.UNAVAILABLE)
        self._offer(entry, spec, tools)
        return HopState(HopStatus.AVAILABLE, turn)

    @staticmethod
    def _offer(entry: SessionEntry, spec: HopSpec, tools: list[Any]) -> None:
        """Register the hop's listed tools the spec's filter lets through (once per session)."""
        from mcp_client.tools import HopTool

        assert entry.agent is not None
        registry = entry.agent.tool_registry
        offered = entry.hop_tools.setdefault(spec.key, set())
        for tool in tools:
            if tool.name in offered:
                continue
            # A listing is not ours to trust: a name the model API rejects would fail every turn, a
            # clash would shadow another tool of the agent, and a long list would bloat every prompt.
            if not TOOL_NAME.fullmatch(tool.name) or len(offered) >= spec.max_tools:
                logger.warning("%s tool skipped (bad name or too many tools)", spec.name)
                continue
            if tool.name in registry.registry:
                logger.warning("%s tool %s clashes with a tool of the agent; skipped", spec.name, tool.name)
                continue
            registry.register_tool(HopTool(tool, spec))
            offered.add(tool.name)
