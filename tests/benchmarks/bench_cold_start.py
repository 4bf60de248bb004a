"""Cold start: process start → first answered turn, this agent vs a bare BedrockAgentCoreApp.

    scripts/run python -m tests.benchmarks.bench_cold_start [--runs N]

AgentCore starts a fresh microVM (a fresh process) for every new runtime session, so every new
conversation pays this. Both servers are started as the runtime starts them (``python main.py``),
alternately, N times each; the clock runs from spawning the process until /ping answers and until
the first streamed turn is complete. The agent runs with the local stack's settings (JWT checked
against the local issuer, gateway configured, offline model) and answers a local-tool question; a
third row runs it without a gateway, which shows what the gateway client's start costs.

Those rows run from the project's virtualenv, whose bytecode caches are warm. The next two run both
servers as deployed: the agent's CodeZip built like `agentcore package` (tests/support/bundle.py)
and the bare app with bedrock-agentcore installed the same way, each unpacked and started by the
base interpreter with nothing else on its path. The CLI's bundle ships no `.pyc` files, and every
runtime session starts in a fresh microVM, so those rows compile every imported module on start
(PYTHONDONTWRITEBYTECODE keeps each run as fresh as the first). The last row is the agent's bundle
with the checked-hash bytecode `scripts/agentcore package` adds (scripts/deploy/bundle_bytecode.py).
The last column divides each agent row's first turn by the dev-venv agent's. On a shared machine
the wall-clock figures move with the load; the CPU column (the server process's user + system time
from spawn to exit, median) moves far less.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from scripts.localdev.gateway import build_gateway
from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.paths import AGENT_CODE, REPO
from scripts.localdev.pool import Client, IssuerConfig, User
from scripts.localdev.serving import BackgroundServer, bind_loopback
from tests.support.bundle import host_platform, unpacked_bundle

CLIENT, SCOPE = "bench-client", "customersupport/invoke"
BARE_APP = Path(__file__).with_name("bare_app.py")
START_TIMEOUT_SECONDS = 60.0
BASE_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")


def free_port() -> int:
    """A loopback port that is free now."""
    with bind_loopback() as sock:
        return int(sock.getsockname()[1])


def packaged(work: Path, uv: str) -> tuple[Path, Path, Path]:
    """The bare app, the agent and the agent with bytecode, each unpacked from a CodeZip-like bundle."""
    agent = unpacked_bundle(work / "agent", uv)
    agent_bytecode = unpacked_bundle(work / "agent-bytecode", uv, bytecode=True)
    bare = work / "bare"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    install = [uv, "pip", "install", "bedrock-agentcore", "--target", str(bare), "--python-version", version]
    install += ["--python-platform", host_platform(), "--only-binary", ":all:", "--quiet"]
    subprocess.run(install, cwd=REPO, check=True, timeout=600)  # the root pyproject pins it
    shutil.copy(BARE_APP, bare / "main.py")
    return bare / "main.py", agent / "main.py", agent_bytecode / "main.py"


def as_deployed(env: dict[str, str], script: Path) -> dict[str, str]:
    """`env` for a bundle: only the bundle on the path, no bytecode written (a fresh microVM each time)."""
    return {**env, "PYTHONPATH": str(script.parent), "PYTHONDONTWRITEBYTECODE": "1"}


def children_cpu() -> float:
    """CPU seconds (user + system) used by this process's waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def interpreter_start(python: str, runs: int) -> float:
    """Median wall seconds for ``python -c pass``: what the interpreter itself costs before any import."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-c", "pass"], check=True, timeout=START_TIMEOUT_SECONDS)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def cold_start(
    script: Path, env: dict[str, str], token: str | None, python: str = sys.executable
) -> tuple[float, float, float]:
    """Seconds from spawn to /ping answering and to the first complete turn; the server's CPU seconds."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    cpu_before = children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [python, script.name],
        cwd=script.parent,
        env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(timeout=START_TIMEOUT_SECONDS) as http:
            while True:
                if time.perf_counter() - started > START_TIMEOUT_SECONDS or proc.poll() is not None:
                    raise RuntimeError(f"{script} did not start")
                try:
                    http.get(f"{url}/ping", timeout=1.0)
                    break
                except httpx.TransportError:
                    time.sleep(0.005)
            listening = time.perf_counter() - started
            reply = http.post(
                f"{url}/invocations",
                json={"prompt": "What's the return policy for accessories?"},
                headers=headers,
            )
            answered = time.perf_counter() - started
            assert reply.status_code == 200 and "error" not in reply.text, reply.text[:300]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return listening, answered, children_cpu() - cpu_before


def main() -> None:
    """Run the paired measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="cold starts of each server (default 7)")
    args = parser.parse_args()
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv must be on PATH (run through scripts/run)")
    work = Path(tempfile.mkdtemp(prefix="bench-cold-start-"))
    try:
        measure(args.runs, *packaged(work, uv))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(runs: int, bare_bundle: Path, agent_bundle: Path, bytecode_bundle: Path) -> None:
    """Start every server `runs` times, interleaved, and print the table."""
    issuer = LocalIssuer(
        IssuerConfig(clients=[Client(CLIENT, "bench-secret", [SCOPE])], users=[User("u", "p", "sub-u")])
    )
    with BackgroundServer(issuer.app()) as issuer_server:
        issuer.base_url = issuer_server.url
        auth = {
            "AUTH_MODE": "enforce",
            "AUTH_DISCOVERY_URL": issuer.discovery_url,
            "AUTH_ALLOWED_CLIENTS": CLIENT,
        }
        gateway = build_gateway(auth)
        with BackgroundServer(gateway.app) as gateway_server:
            base = {
                k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "AGENTCORE_", "MEMORY_"))
            }
            agent_env = {
                **base,
                **auth,
                "MODEL_PROVIDER": "offline",
                "WEB_SEARCH_MCP_URL": "",  # never the public server from a benchmark
                "AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL": f"{gateway_server.url}/mcp",
                "LOCAL_MEMORY_DIR": str(Path(os.environ.get("TMPDIR", "/tmp")) / "bench-cold-start-sessions"),
            }
            token = issuer.client_credentials_token(CLIENT, [SCOPE])
            cold_start(BARE_APP, base, None)  # warm the OS file cache once for both
            cold_start(AGENT_CODE / "main.py", agent_env, token)
            no_gateway_env = {
                k: v for k, v in agent_env.items() if k != "AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL"
            }
            bare, agent, no_gateway, bare_deployed, agent_deployed, with_bytecode = [], [], [], [], [], []
            for _ in range(runs):
                bare.append(cold_start(BARE_APP, base, None))
                agent.append(cold_start(AGENT_CODE / "main.py", agent_env, token))
                no_gateway.append(cold_start(AGENT_CODE / "main.py", no_gateway_env, token))
                bare_deployed.append(
                    cold_start(bare_bundle, as_deployed(base, bare_bundle), None, BASE_PYTHON)
                )
                agent_deployed.append(
                    cold_start(agent_bundle, as_deployed(agent_env, agent_bundle), token, BASE_PYTHON)
                )
                with_bytecode.append(
                    cold_start(bytecode_bundle, as_deployed(agent_env, bytecode_bundle), token, BASE_PYTHON)
                )

    def med(samples: list[tuple[float, float, float]], i: int) -> float:
        return statistics.median(s[i] for s in samples)

    print(f"cold start, median of {runs} paired runs (spawn → /ping answers, spawn → first turn answered)")
    print(f"{'server':<48}{'listening':>12}{'first turn':>13}{'ratio':>8}{'/dev venv':>11}{'cpu':>9}")
    rows = (
        ("bare BedrockAgentCoreApp (baseline)", bare),
        ("CustomerSupport main.py (dev venv)", agent),
        ("  the same, no gateway configured", no_gateway),
        ("bare app, as deployed (baseline)", bare_deployed),
        ("CustomerSupport, as deployed", agent_deployed),
        ("CustomerSupport, as deployed, with bytecode", with_bytecode),
    )
    for name, samples in rows:
        baseline = bare_deployed if "deployed" in name else bare
        ratio = med(samples, 1) / med(baseline, 1)
        dev = f"{med(samples, 1) / med(agent, 1):>10.2f}x" if name.startswith(("Customer", "  ")) else ""
        listening, answered = med(samples, 0) * 1000, med(samples, 1) * 1000
        cpu = f"{med(samples, 2) * 1000:>7.0f}ms"
        print(f"{name:<48}{listening:>10.0f}ms{answered:>11.0f}ms{ratio:>7.2f}x{dev or ' ' * 11}{cpu}")
    print("as deployed: unpacked CodeZip bundles; the CLI's zip has no bytecode, `scripts/agentcore package`")
    print("adds checked-hash .pyc files for the runtime's Python (the 'with bytecode' row)")
    base_start, venv_start = interpreter_start(BASE_PYTHON, runs), interpreter_start(sys.executable, runs)
    print(
        f"`python -c pass`: {base_start * 1000:.0f} ms for the base interpreter (as deployed rows), ", end=""
    )
    print(f"{venv_start * 1000:.0f} ms for the venv's (its site-packages hooks are part of the difference)")


if __name__ == "__main__":
    main()
