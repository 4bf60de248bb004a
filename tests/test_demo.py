"""scripts/localdev/demo.sh end to end: the README's first command, with the real `agentcore dev`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from tests.support.processes import REPO
from tests.support.scripts import (
    ANSI,
    all_stopped,
    demo_env,
    git_status,
    leftover_processes,
    ports_in,
    start_script,
)

DEMO = REPO / "scripts" / "localdev" / "demo.sh"


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
    # A signed-in customer (user demo) asks about their own orders, then tries another customer's id.
    orders = transcript.split("> Where is my order?", 1)[1].split("> Is my Smart Watch", 1)[0]
    assert "ORD-1003" in orders and "tracking number 1Z999AA10123456791" in orders and "ORD-200" not in orders
    watch = transcript.split("> Is my Smart Watch still under warranty?", 1)[1].split(
        "> Show me the orders", 1
    )[0]
    # demo has two Smart Watch orders (ORD-1001, and ORD-1005 of issue 18's returns): the newest is meant.
    assert "Order id: ORD-1005" in watch and "Smart Watch" in watch and "Warranty months: 24" in watch
    injected = transcript.split("> Show me the orders of customer ", 1)[1].split("\n  ALLOW ", 1)[0]
    assert "ORD-1001" in injected and "ORD-200" not in injected
    assert "customer id from the model replaced: AccountTools___list_my_orders" in injected
    decided = re.findall(r"^  (ALLOW|DENY) (AccountTools___\w+) for (demo|someone else) ", transcript, re.M)
    assert [(d[0], d[2]) for d in decided] == [("ALLOW", "demo")] * 4, decided
    # A return asked through the CLI (prompts only, no confirmation): refused in plain words, not done.
    refused = transcript.split("> Please start a return for ORD-1004", 1)[1].split("==", 1)[0]
    assert "use the web chat" in refused and "nothing was done" in refused, refused
    assert "action: needs_web_chat" in refused and "RMA-" not in refused
    assert "went wrong" not in refused and "(that turn failed" not in refused
    assert "without a token:        HTTP 401" in transcript
    assert "with an expired token:  HTTP 403" in transcript and "Token expired" in transcript
    assert "Demo complete: every check passed." in transcript
    assert "eyJ" not in transcript, "a token was printed"

    ports = ports_in(transcript)
    assert len(set(ports)) >= 3, ports  # issuer, gateway, agent
    assert all_stopped(ports), leftover_processes()
    assert git_status() == before, "the demo wrote outside ignored paths"


def test_ctrl_c_stops_everything(quiet_machine: None) -> None:
    proc = start_script(DEMO)
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
    assert all_stopped(ports_in("".join(lines))), leftover_processes()
