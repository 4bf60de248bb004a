"""Running the project's interactive scripts (demo, web chat) as a user would, and checking after."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

from tests.support.cli import find_agentcore_cli
from tests.support.processes import REPO, wait_until

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "COGNITO_", "MEMORY_"))}
    env["AGENTCORE_CLI"] = find_agentcore_cli()
    env.pop("MODEL_PROVIDER", None)
    return env


def ports_in(transcript: str) -> list[int]:
    return [int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)", transcript)]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def leftover_processes() -> list[str]:
    """Processes of this checkout that the demo starts (issuer, gateway, agentcore dev, uvicorn)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if str(REPO) in cwd and re.search(
            r"scripts\.localdev|agentcore(\.js)? dev|uvicorn main:app", cmdline
        ):
            found.append(cmdline)
    return found


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored=no"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def interruptible() -> None:
    """Popen's preexec_fn: SIGINT as a terminal leaves it, so Ctrl-C reaches the script's trap.

    bash cannot trap a signal it inherited as ignored, and a test run started in the background
    (nohup, `cmd &` in a script, some CI runners) hands every child SIGINT ignored.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_script(script: Path) -> subprocess.Popen[str]:
    """Start a script in its own process group, output piped, as from a terminal (Ctrl-C works)."""
    return subprocess.Popen(
        ["bash", str(script)],
        cwd=REPO,
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=interruptible,
    )


def all_stopped(ports: list[int], timeout: float = 10.0) -> bool:
    """Whether, within `timeout`, no port is listening and no process of the stack is left."""
    return wait_until(lambda: not any(listening(p) for p in set(ports)) and not leftover_processes(), timeout)
