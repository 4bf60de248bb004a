"""Conversation memory keyed by the caller's verified identity.

AgentCore Memory when ``MEMORY_CUSTOMERSUPPORTMEMORY_ID`` is set (events per actor and session,
long-term facts and summaries retrieved into context); otherwise a local file-backed session
manager so history survives turns and restarts in local development.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from strands.session import FileSessionManager, SessionManager

from settings import Settings


def _digest(value: str) -> str:
    # Hashing turns caller-controlled ids into safe directory names.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


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

        retrieval = {
            f"/users/{actor_id}/facts": RetrievalConfig(top_k=3, relevance_score=0.5),
            f"/summaries/{actor_id}/{session_id}": RetrievalConfig(top_k=3, relevance_score=0.5),
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

    # Namespaced by actor: a guessed session id never opens another user's history.
    storage = Path(settings.local_memory_dir) / _digest(actor_id)
    storage.mkdir(parents=True, exist_ok=True, mode=0o700)
    return FileSessionManager(session_id=_digest(session_id), storage_dir=str(storage))
