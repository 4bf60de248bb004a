"""Finding the real `agentcore` CLI (npm @aws/agentcore) for tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from tests.support.requirements import missing

EXPECTED_MAJOR_MINOR = (0, 30)


def find_agentcore_cli() -> str:
    """Path of the npm `agentcore` CLI; fails under CI=true when missing, else skips."""
    path = os.environ.get("AGENTCORE_CLI") or shutil.which("agentcore")
    if not path or not os.access(path, os.X_OK):
        message = (
            "the agentcore CLI (npm @aws/agentcore) is not installed; set AGENTCORE_CLI or put it on PATH"
        )
        missing(message)
    return path


def cli_version(path: str) -> tuple[int, ...]:
    """The CLI's semantic version; raises if this is not the npm CLI."""
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", out.stdout.strip().splitlines()[-1] if out.stdout else "")
    if out.returncode != 0 or not match:
        raise AssertionError(f"{path} is not the npm agentcore CLI (--version gave {out.stdout!r})")
    return tuple(int(part) for part in match.groups())
