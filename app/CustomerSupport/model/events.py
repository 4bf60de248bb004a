"""Bedrock-style stream events the offline model emits (text answers and tool requests)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from strands.types.streaming import StreamEvent


def text_events(text: str) -> list[StreamEvent]:
    """A streamed text answer, in pieces of eight words."""
    words = text.split(" ")
    chunks = [
        " ".join(words[i : i + 8]) + (" " if i + 8 < len(words) else "") for i in range(0, len(words), 8)
    ]
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {}}},
        *[StreamEvent(contentBlockDelta={"delta": {"text": chunk}}) for chunk in chunks],
        {"contentBlockStop": {}},
        {"messageStop": {"stopReason": "end_turn"}},
        _metadata(),
    ]


def tool_use_events(name: str, arguments: dict[str, Any]) -> list[StreamEvent]:
    """A streamed request to run one tool."""
    tool_use_id = f"tooluse_{uuid.uuid4().hex[:20]}"
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": tool_use_id, "name": name}}}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(arguments)}}}},
        {"contentBlockStop": {}},
        {"messageStop": {"stopReason": "tool_use"}},
        _metadata(),
    ]


def _metadata() -> StreamEvent:
    return {
        "metadata": {
            "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
            "metrics": {"latencyMs": 0},
        }
    }
