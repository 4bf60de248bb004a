"""A scratch copy of the project's declarative files, for scripts that edit them."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.processes import REPO


def copy_project(dest: Path) -> Path:
    """What check and configure read, copied to `dest`: agentcore/ (no CDK app), the agent, tool schemas."""
    (dest / "agentcore").mkdir(parents=True)
    for name in ("agentcore.json", "aws-targets.json"):
        shutil.copy2(REPO / "agentcore" / name, dest / "agentcore" / name)
    shutil.copytree(
        REPO / "app" / "CustomerSupport",
        dest / "app" / "CustomerSupport",
        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".local", "*.zip", "uv.lock"),
    )
    shutil.copytree(REPO / "tool_schemas", dest / "tool_schemas")
    return dest
