"""The baseline of the cold-start benchmark: a bare BedrockAgentCoreApp that streams one word."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

from bedrock_agentcore.runtime import BedrockAgentCoreApp

app = BedrockAgentCoreApp()


@app.entrypoint
async def invoke(payload: dict[str, Any], context: Any) -> AsyncIterator[str]:
    """Answer every prompt with one word."""
    yield "hello"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
