"""User preferences: what AgentCore Memory's USER_PREFERENCE strategy keeps, and a local stand-in.

Deployed, the USER_PREFERENCE strategy extracts preferences from the conversation into
``/users/{actorId}/preferences`` and the session manager retrieves them into the turn's context as
a ``<user_context>`` block. Locally (the file-based memory) ``LocalPreferences`` does the same for
the statements ``extract_preference`` recognises, stored per actor on disk, so a preference stated
in one session is known in the next session of the same user and never to another user.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from strands.hooks import HookProvider, HookRegistry, MessageAddedEvent

CONTEXT_TAG = "user_context"  # the tag AgentCoreMemorySessionManager wraps retrieved records in
RECORD_PREFIX = "Preference: "
MAX_PREFERENCES = 20
MAX_PREFERENCE_CHARS = 200

_STATEMENT = re.compile(
    r"\b(?:i(?:\s+would|'d)\s+prefer|i\s+prefer|my\s+preference\s+is)\s+(?:to\s+be\s+|to\s+)?(.+?)\s*(?:[.!?]|$)",
    re.IGNORECASE,
)
_CONTEXT_BLOCK = re.compile(rf"<{CONTEXT_TAG}>.*?</{CONTEXT_TAG}>", re.DOTALL)


def extract_preference(text: str) -> str | None:
    """The preference a customer states ("I prefer e-mail contact" → "e-mail contact"), if any."""
    found = _STATEMENT.search(_CONTEXT_BLOCK.sub(" ", text or ""))
    if found is None:
        return None
    preference = " ".join(found.group(1).split())[:MAX_PREFERENCE_CHARS]
    return preference or None


def preference_record(preference: str) -> str:
    """The text of a preference memory record (what retrieval puts into context)."""
    return f"{RECORD_PREFIX}{preference}"


def _user_text(message: dict[str, Any]) -> str:
    return " ".join(block["text"] for block in message.get("content", []) if "text" in block)


# Striped locks: two sessions of one user may update the same file at once; a fixed number of
# locks (not one per user) keeps the process's state bounded however many users there are.
_LOCKS = tuple(threading.Lock() for _ in range(64))


class LocalPreferences(HookProvider):
    """Per-actor preference records on disk, retrieved into each user message like AgentCore's."""

    def __init__(self, actor_dir: Path) -> None:
        self.path = actor_dir / "preferences.json"
        self._lock = _LOCKS[hash(str(self.path)) % len(_LOCKS)]

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Run after the session manager persisted the message (hooks run in registration order)."""
        registry.add_callback(MessageAddedEvent, self._on_message)

    async def _on_message(self, event: MessageAddedEvent) -> None:
        message: dict[str, Any] = dict(event.message)
        if message.get("role") != "user" or not any("text" in b for b in message.get("content", [])):
            return
        records = await asyncio.to_thread(self._update, extract_preference(_user_text(message)))
        if records:
            # Same shape as AgentCoreMemorySessionManager: prepended, the question stays last.
            text = "\n".join(preference_record(p) for p in records)
            event.agent.messages[-1]["content"].insert(0, {"text": f"<{CONTEXT_TAG}>{text}</{CONTEXT_TAG}>"})

    def _update(self, new: str | None) -> list[str]:
        with self._lock:
            records = self.read()
            if new is not None and new not in records:
                records = [*records, new][-MAX_PREFERENCES:]
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(records))
                os.replace(tmp, self.path)  # readers never see a half-written file
            return records

    def read(self) -> list[str]:
        """The stored preferences (oldest first); none when the file is missing or unreadable."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        return [str(item) for item in data][-MAX_PREFERENCES:] if isinstance(data, list) else []
