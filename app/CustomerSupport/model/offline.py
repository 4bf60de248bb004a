"""A deterministic, scripted model so the whole stack runs without cloud access.

It plays the model's part in Strands' real tool-calling loop: it reads the conversation, asks
for tool uses that the framework executes (local tools, the Gateway's warranty tool, the web
search tool), and composes its answer from the tool results, the conversation history and the
memory records retrieved into context (``<user_context>`` blocks, as AgentCore Memory's session
manager adds them). Every answer says it comes from the offline model.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any

from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from memory.preferences import CONTEXT_TAG, RECORD_PREFIX, extract_preference
from model import offline_actions, offline_orders
from model.events import text_events, tool_use_events

PREFIX = "[offline model] "
SIGN_IN_MARKER = "warranty service: sign-in required"
UNAVAILABLE_MARKER = "warranty service: unavailable"
WARRANTY_TOOL_SUFFIX = "check_warranty"
WEB_SEARCH_TOOL_MARK = "web_search"  # the public Exa server's tool is web_search_exa

_NAME_INTRO = re.compile(r"\bmy name is\s+([A-Za-z][\w'-]*)", re.IGNORECASE)
_NAME_RECALL = re.compile(r"remember my name|what(?:'s| is) my name|who am i", re.IGNORECASE)
_PRODUCT_ID = re.compile(r"\bPROD-\d{3}\b", re.IGNORECASE)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_POLICY = re.compile(r"\breturn|\brefund|\bpolic", re.IGNORECASE)
_PRODUCT = re.compile(
    r"tell me about|\binfo|\bdetails|\bprice|\bcost|how much|\bproducts?\b|do you (?:have|sell)",
    re.IGNORECASE,
)
_SEARCH = re.compile(r"\bsearch\s+(?:the\s+)?(?:web|internet|online)\s+for\s+(.+?)[?.!]*$", re.IGNORECASE)
_PREFERENCE_RECALL = re.compile(
    r"\bmy preferences?\b|what do i prefer|how (?:should|will|would|do|can) you (?:contact|reach) me",
    re.IGNORECASE,
)
_SESSION_RECALL = re.compile(
    r"what did we (?:talk|speak|chat) about|\blast time\b"
    r"|(?:previous|earlier|last) (?:conversation|session|chat)",
    re.IGNORECASE,
)
_CONTEXT = re.compile(rf"<{CONTEXT_TAG}>(.*?)</{CONTEXT_TAG}>", re.DOTALL)
_ABOUT = re.compile(r"\babout\s+(?:the\s+|your\s+)?(.+?)[?.!]*$", re.IGNORECASE)
# The customer's own word is passed to the tool, which resolves plurals and product names.
_CATEGORY_WORD = re.compile(r"\b(\w*(?:electronic|accessor|audio|headphone)\w*)\b", re.IGNORECASE)


def _text(message: dict[str, Any]) -> str:
    """What the person wrote (memory context blocks left out)."""
    text = " ".join(block["text"] for block in message.get("content", []) if "text" in block)
    return _CONTEXT.sub(" ", text).strip()


def _preferences(message: dict[str, Any]) -> list[str]:
    """Preference records retrieved into this message's context."""
    text = " ".join(block["text"] for block in message.get("content", []) if "text" in block)
    found = []
    for block in _CONTEXT.findall(text):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith(RECORD_PREFIX) and line[len(RECORD_PREFIX) :] not in found:
                found.append(line[len(RECORD_PREFIX) :])
    return found


def _remembered(message: dict[str, Any]) -> list[str]:
    """Memory records retrieved into this message's context other than preferences (summaries, facts)."""
    text = " ".join(block["text"] for block in message.get("content", []) if "text" in block)
    lines = [line.strip() for block in _CONTEXT.findall(text) for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith(RECORD_PREFIX)]


def _tool_results(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [block["toolResult"] for block in message.get("content", []) if "toolResult" in block]


def _result_text(result: dict[str, Any]) -> str:
    parts = []
    for item in result.get("content", []):
        if "text" in item:
            parts.append(item["text"])
        elif "json" in item:
            parts.append(json.dumps(item["json"]))
    return "\n".join(parts).strip()


def _humanize(text: str) -> str:
    """Render a JSON object result as readable lines; other text as is."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    if "error" in data:
        return f"I couldn't complete that: {data['error']}"
    lines = [f"{key.replace('_', ' ').capitalize()}: {value}" for key, value in data.items()]
    return "\n".join(lines)


class OfflineModel(Model):
    """Scripted stand-in for a foundation model; see the module docstring."""

    def __init__(self, chunk_delay_seconds: float = 0.0) -> None:
        self.config: dict[str, Any] = {"model_id": "offline-scripted"}
        self.chunk_delay_seconds = chunk_delay_seconds

    def update_config(self, **model_config: Any) -> None:
        """Accept and ignore configuration updates."""
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        """The model configuration (empty)."""
        return self.config

    async def structured_output(
        self, output_model: Any, prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Not supported by the offline model."""
        raise NotImplementedError("the offline model does not produce structured output")
        yield {}  # pragma: no cover - makes this an async generator

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        """Stream the scripted answer or tool call as Bedrock-style events."""
        decision = self.decide([dict(m) for m in messages], tool_specs or [], system_prompt or "")
        events = tool_use_events(*decision) if isinstance(decision, tuple) else text_events(PREFIX + decision)
        for event in events:
            if self.chunk_delay_seconds and "contentBlockDelta" in event:
                await asyncio.sleep(self.chunk_delay_seconds)  # paced like a real model's tokens
            yield event

    # -- the script -------------------------------------------------------------------------------
    def decide(
        self, messages: list[dict[str, Any]], tool_specs: list[ToolSpec], system_prompt: str
    ) -> str | tuple[str, dict[str, Any]]:
        """Either answer text, or (tool name, input) for the framework to execute."""
        last = messages[-1] if messages else {"content": []}
        results = _tool_results(last)
        tools = {spec["name"] for spec in tool_specs}
        if results:
            step = self._next_step(messages, results, tools)
            return step if step is not None else self._compose(messages, results)
        prompt = _text(last)

        intro = _NAME_INTRO.search(prompt)
        if intro:
            return f"Nice to meet you, {intro.group(1)}! How can I help you today?"
        if _NAME_RECALL.search(prompt):
            return self._recall_name(messages[:-1])
        stated = extract_preference(prompt)
        if stated:
            return f"Noted: you prefer {stated}. I'll keep that in mind."
        if _PREFERENCE_RECALL.search(prompt):
            known = _preferences(last)
            if not known:
                return 'I don\'t know your preferences yet. You can tell me, e.g. "I prefer phone calls".'
            return "You told me you prefer " + "; and ".join(known) + "."
        if _SESSION_RECALL.search(prompt):
            earlier = _remembered(last)
            if not earlier:
                return "I have no notes from an earlier conversation with you."
            return "From our earlier conversations I remember: " + " ".join(earlier)
        search = _SEARCH.search(prompt)
        if search:
            return self._web_search(search.group(1), tools)
        if offline_actions.is_action(prompt):
            return offline_actions.action(prompt, tools)
        if "warrant" in prompt.lower():
            by_order = None if _PRODUCT_ID.search(prompt) else offline_orders.order_warranty(prompt, tools)
            return by_order or self._warranty(prompt, tools, system_prompt)
        if offline_orders.is_order_question(prompt):
            return offline_orders.orders(prompt, tools, SIGN_IN_MARKER in system_prompt.lower())
        if _POLICY.search(prompt):
            category = self._category(prompt)
            if category is None:
                return "Which product category do you mean: electronics, accessories or audio?"
            return ("get_return_policy", {"product_category": category})
        product_id = _PRODUCT_ID.search(prompt)
        if product_id or _PRODUCT.search(prompt):
            about = _ABOUT.search(prompt)
            query = product_id.group(0).upper() if product_id else (about.group(1) if about else prompt)
            return ("get_product_info", {"query": query})
        return (
            "I can help with return policies (electronics, accessories, audio), product information, "
            "your orders and warranty checks (give me a product ID such as PROD-001, or ask about an order)."
        )

    @staticmethod
    def _web_search(query: str, tools: set[str]) -> str | tuple[str, dict[str, Any]]:
        tool = next((name for name in sorted(tools) if WEB_SEARCH_TOOL_MARK in name), None)
        if tool is None:
            return "Web search is unavailable right now. I can still help with our products and policies."
        return (tool, {"query": query.strip()})

    @staticmethod
    def _category(prompt: str) -> str | None:
        match = _CATEGORY_WORD.search(prompt)
        return match.group(1) if match else None

    @staticmethod
    def _recall_name(history: list[dict[str, Any]]) -> str:
        for message in reversed(history):
            if message.get("role") != "user":
                continue
            found = _NAME_INTRO.search(_text(message))
            if found:
                return f"Yes, I remember: your name is {found.group(1)}."
        return 'I don\'t know your name yet. You can tell me by saying "My name is ...".'

    @staticmethod
    def _warranty(prompt: str, tools: set[str], system_prompt: str) -> str | tuple[str, dict[str, Any]]:
        product_id = _PRODUCT_ID.search(prompt)
        if product_id is None:
            return "Which product should I check? Please give me its product ID, for example PROD-001."
        tool = next((name for name in sorted(tools) if name.endswith(WARRANTY_TOOL_SUFFIX)), None)
        if tool is None:
            if SIGN_IN_MARKER in system_prompt.lower():
                return "Warranty lookup needs you to sign in. Please sign in and ask me again."
            return "The warranty service is unavailable right now. Please try again later."
        arguments = {"product_id": product_id.group(0).upper()}
        date = _DATE.search(prompt)
        if date:
            arguments["purchase_date"] = date.group(0)
        return (tool, arguments)

    @staticmethod
    def _next_step(
        messages: list[dict[str, Any]], results: list[dict[str, Any]], tools: set[str]
    ) -> tuple[str, dict[str, Any]] | None:
        """A follow-up tool call a result calls for (list the orders, then check the one meant)."""
        prompt = next((_text(m) for m in reversed(messages) if m.get("role") == "user" and _text(m)), "")
        names = _tool_names(messages)
        again = offline_actions.next_step(prompt, messages, tools) or offline_actions.more_tickets(
            prompt, messages
        )
        if again is not None:
            return again
        for result in results:
            if result.get("status") == "error":
                continue
            name = names.get(result.get("toolUseId", ""), "")
            step = offline_orders.next_step(prompt, name, _result_text(result), tools)
            if step is not None:
                return step
        return None

    @staticmethod
    def _compose(messages: list[dict[str, Any]], results: list[dict[str, Any]]) -> str:
        names = _tool_names(messages)
        answers = []
        for result in results:
            name = names.get(result.get("toolUseId", ""), "")
            text = _result_text(result)
            described = offline_actions.describe(messages, result, name, text)
            if described is not None:
                answers.append(described)
            elif result.get("status") == "error":
                answers.append(text or "That lookup failed. Please try again later.")
            elif name.endswith(WARRANTY_TOOL_SUFFIX):
                answers.append("Here is the warranty status:\n" + _humanize(text))
            elif WEB_SEARCH_TOOL_MARK in name:
                answers.append("Here is what I found on the web:\n" + text)
            elif name.endswith(offline_orders.ACCOUNT_TOOLS):
                shown = offline_orders.describe(text) or _humanize(text)
                answers.append("Here is what I found in your orders:\n" + shown)
            else:
                answers.append(_humanize(text))
        return "\n".join(answers)


def _tool_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Tool name of every tool use in the conversation, by tool-use id."""
    names: dict[str, str] = {}
    for message in messages:
        for block in message.get("content", []):
            if "toolUse" in block:
                names[block["toolUse"]["toolUseId"]] = block["toolUse"]["name"]
    return names
