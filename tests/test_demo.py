"""scripts/demo.sh end to end: the README's first command, with the real `agentcore dev`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import find_agentcore_cli
from tests.support.processes import REPO

DEMO = REPO / "scripts" / "demo.sh"
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


@pytest.fixture
def quiet_machine() -> None:
    assert leftover_processes() == [], "another demo or dev stack of this checkout is running"


def test_demo_shows_the_whole_story_and_cleans_up(quiet_machine: None) -> None:
    before = git_status()
    result = subprocess.run(
        ["bash", str(DEMO)], cwd=REPO, env=demo_env(), capture_output=True, text=True, timeout=900
    )
    transcript = ANSI.sub("", result.stdout + result.stderr)
    assert result.returncode == 0, transcript[-4000:]

    assert "14 days" in transcript
    assert "USB-C Hub (PROD-004): $54.99" in transcript
    warranty = transcript.split("> Check the warranty for PROD-002", 1)[1].split("> My name is Alex", 1)[0]
    assert "Smart Watch" in warranty and "Warranty months: 24" in warranty
    assert "your name is Alex" in transcript.split("> Do you remember my name?", 1)[1]
    assert "without a token:        HTTP 401" in transcript
    assert "with an expired token:  HTTP 403" in transcript and "Token expired" in transcript
    assert "Demo complete: every check passed." in transcript
    assert "eyJ" not in transcript, "a token was printed"

    ports = ports_in(transcript)
    assert len(set(ports)) >= 3, ports  # issuer, gateway, agent
    assert [p for p in set(ports) if listening(p)] == []
    assert leftover_processes() == []
    assert git_status() == before, "the demo wrote outside ignored paths"


def test_ctrl_c_stops_everything(quiet_machine: None) -> None:
    proc = subprocess.Popen(
        ["bash", str(DEMO)],
        cwd=REPO,
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # bash cannot trap a signal it inherited as ignored (nohup, some CI runners): reset it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    deadline = time.monotonic() + 600
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(ANSI.sub("", line))
        if "agent listening on" in line or time.monotonic() > deadline:
            break
    assert any("agent listening on" in line for line in lines), "".join(lines)[-3000:]
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    rest = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0
    assert "Demo complete" not in rest
    ports = ports_in("".join(lines))
    time.sleep(1)
    assert [p for p in set(ports) if listening(p)] == []
    assert leftover_processes() == []
