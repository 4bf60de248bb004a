"""Where things are in the repository, and access to the agent's own modules."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AGENT_CODE = REPO / "app" / "CustomerSupport"


def agent_code_on_path() -> None:
    """Let local services import the agent's modules (e.g. ``auth``) instead of copying them."""
    if str(AGENT_CODE) not in sys.path:
        sys.path.insert(0, str(AGENT_CODE))
