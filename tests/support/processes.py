"""Processes and ports for tests: free loopback ports, start/stop in process groups, readiness."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from scripts.localdev.paths import REPO

VENV_BIN = Path(sys.executable).parent
__all__ = [
    "REPO",
    "VENV_BIN",
    "alive",
    "eventually",
    "free_port",
    "process_stat",
    "serving_moto",
    "start_process",
    "stop_process",
    "wait_http",
    "wait_until",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0) -> None:
    """Poll `url` until it answers; fail early if `proc` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child (and its process group) and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)


def start_process(
    args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a child in its own process group, output to `log` (or discarded)."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


@contextlib.contextmanager
def serving_moto(command: Callable[[int], list[str]], log: Path) -> Iterator[str]:
    """Run a moto server command (given the port) on 127.0.0.1; yields its URL, then stops it."""
    port = free_port()
    proc = start_process(command(port), cwd=REPO, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/", proc)
        yield url
    finally:
        stop_process(proc)


async def eventually(condition: Callable[[], bool], timeout: float = 2.0, interval: float = 0.02) -> bool:
    """Like `wait_until`, on a running event loop (the loop keeps working while we wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(interval)
    return condition()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds or `timeout` passes; returns whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def process_stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a process from /proc, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after "(comm)", which may contain spaces
    return int(fields[1]), fields[0], fields[19]


def alive(pid: int, start: str | None = None) -> bool:
    """Whether the process runs (not a zombie); with `start`, this very one, not a reuse of its pid."""
    stat = process_stat(pid)
    return stat is not None and stat[1] != "Z" and (start is None or stat[2] == start)
