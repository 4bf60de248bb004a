"""Conversation memory keyed by the caller's verified identity.

AgentCore Memory when ``MEMORY_CUSTOMERSUPPORTMEMORY_ID`` is set (events per actor and session;
long-term facts, preferences and summaries retrieved into context, each from the caller's own
namespace, summaries from every earlier session of the caller); otherwise a local file-backed
session manager so history survives turns and restarts in local development, plus
``LocalPreferences`` for the caller's stated preferences.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from strands.hooks import HookProvider
from strands.session import FileSessionManager, SessionManager

from memory.preferences import LocalPreferences
from settings import Settings


def _digest(value: str) -> str:
    # Hashing turns caller-controlled ids into safe directory names.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def retrieval_namespaces(actor_id: str, session_id: str) -> list[str]:
    """The long-term namespaces a turn reads, as path prefixes, all under this caller's own id.

    Summaries are written per session (the manifest's ``/summaries/{actorId}/{sessionId}``), so
    the caller's summaries prefix ``/summaries/<actor>/`` recalls every earlier session too; the
    SDK sends each entry as ``namespacePath``, which AgentCore matches as a hierarchical prefix.
    The trailing ``/`` keeps ``sub-al`` from reading ``sub-alice``. An actor id holding ``/``
    could make one caller's prefix cover another's (``a/`` ⊃ ``a/b/``): such a caller reads only
    this session's summaries.
    """
    summaries = f"/summaries/{actor_id}/" if "/" not in actor_id else f"/summaries/{actor_id}/{session_id}"
    return [
        f"/users/{actor_id}/facts",  # SEMANTIC
        f"/users/{actor_id}/preferences",  # USER_PREFERENCE
        summaries,  # SUMMARIZATION, every session of this caller
    ]


def local_preferences(settings: Settings, actor_id: str) -> HookProvider | None:
    """The file-based stand-in for the USER_PREFERENCE strategy (None with AgentCore Memory)."""
    if settings.memory_id:
        return None
    return LocalPreferences(_actor_dir(settings, actor_id))


def _actor_dir(settings: Settings, actor_id: str) -> Path:
    # Namespaced by actor: a guessed session id never opens another user's history.
    storage = Path(settings.local_memory_dir) / _digest(actor_id)
    storage.mkdir(parents=True, exist_ok=True, mode=0o700)
    return storage


def get_memory_session_manager(
    settings: Settings, session_id: str, actor_id: str, boto_session: Any = None
) -> SessionManager:
    """A session manager for (actor, session); blocking, call it off the event loop."""
    if settings.memory_id:
        from bedrock_agentcore.memory.integrations.strands.config import (
            AgentCoreMemoryConfig,
            RetrievalConfig,
        )
        from bedrock_agentcore.memory.integrations.strands.session_manager import (
            AgentCoreMemorySessionManager,
        )

        # Filled here; the SDK formats each key again ({actorId}...), so braces in an id are escaped.
        retrieval = {
            namespace.replace("{", "{{").replace("}", "}}"): RetrievalConfig(top_k=3, relevance_score=0.5)
            for namespace in retrieval_namespaces(actor_id, session_id)
        }
        from botocore.config import Config

        # async_mode: per-message writes and retrievals run in threads, never on the shared loop.
        config = AgentCoreMemoryConfig(
            memory_id=settings.memory_id,
            session_id=session_id,
            actor_id=actor_id,
            retrieval_config=retrieval,
            async_mode=True,
        )
        # Every Memory call is bounded, so a hung backend frees its thread after the timeout.
        timeout = settings.memory_timeout_seconds
        boto_config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2})
        return AgentCoreMemorySessionManager(
            config, region_name=settings.region, boto_session=boto_session, boto_client_config=boto_config
        )

    storage = _actor_dir(settings, actor_id)
    return FileSessionManager(session_id=_digest(session_id), storage_dir=str(storage))
