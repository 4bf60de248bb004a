"""Cost of the local front door: streamed turns through it vs straight to the agent, same run.

    uv run python -m tests.benchmarks.bench_frontdoor [--turns N]

The agent runs as `agentcore dev` runs it (uvicorn main:app in its own process, offline model,
JWT enforced against the local issuer, the local gateway for tools). Each round sends the same
prompt once directly and once through the front door (token verification, per-user limits,
streaming proxy), alternating which goes first. Reported: time to the first streamed event and
to the end of the turn, medians and p90, and the front door's ratio to the direct baseline.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from scripts.localdev.frontdoor import SESSION_HEADER, Limits, build_frontdoor
from scripts.localdev.gateway import build_gateway
from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.paths import AGENT_CODE
from scripts.localdev.pool import Client, IssuerConfig
from scripts.localdev.serving import BackgroundServer
from settings import AuthSettings

CLIENT, SCOPE, ORIGIN = "bench-web-client", "customersupport/invoke", "http://127.0.0.1:5173"
PROMPTS = ("What is the return policy for audio?", "Check the warranty for PROD-002")
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_agent(issuer: LocalIssuer, gateway_url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The agent in its own process; returns it and its URL once /ping answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "AGENTCORE_", "MEMORY_"))}
    env.update(
        AUTH_MODE="enforce",
        AUTH_DISCOVERY_URL=issuer.discovery_url,
        AUTH_ALLOWED_CLIENTS=CLIENT,
        MODEL_PROVIDER="offline",
        WEB_SEARCH_MCP_URL="",  # never the public server from a benchmark
        AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL=gateway_url,
        LOCAL_MEMORY_DIR=str(workdir / "sessions"),
    )
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    proc = subprocess.Popen(
        [uvicorn, "main:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=AGENT_CODE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/ping", timeout=1.0)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise TimeoutError("the agent did not start")


def user_token(issuer: LocalIssuer) -> str:
    now = int(time.time())
    claims = {"iss": issuer.issuer, "sub": "sub-bench", "client_id": CLIENT, "token_use": "access"}
    return issuer.sign(
        {**claims, "scope": f"openid {SCOPE}", "iat": now, "exp": now + 3600, "jti": str(uuid.uuid4())}
    )


def turn(http: httpx.Client, url: str, token: str, prompt: str) -> tuple[float, float]:
    """(seconds to the first streamed event, seconds to the end of the turn)."""
    headers = {"Authorization": f"Bearer {token}", SESSION_HEADER: f"bench-{uuid.uuid4()}", "Origin": ORIGIN}
    start = time.perf_counter()
    first = None
    with http.stream("POST", f"{url}/invocations", json={"prompt": prompt}, headers=headers) as response:
        assert response.status_code == 200, response.status_code
        for line in response.iter_lines():
            if first is None and line.startswith("data: "):
                first = time.perf_counter() - start
    total = time.perf_counter() - start
    assert first is not None, "no streamed event"
    return first, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    args = parser.parse_args()
    issuer = LocalIssuer(IssuerConfig(clients=[Client(CLIENT, user_login=True)]))
    limits = Limits(ThrottleRateLimit=10_000, ThrottleBurstLimit=10_000, QuotaLimitPerDay=1_000_000)
    with BackgroundServer(issuer.app()) as issuer_server, tempfile.TemporaryDirectory() as tmp:
        issuer.base_url = issuer_server.url
        gateway = build_gateway({"AUTH_DISCOVERY_URL": issuer.discovery_url, "AUTH_ALLOWED_CLIENTS": CLIENT})
        with BackgroundServer(gateway.app) as gateway_server:
            agent, agent_url = start_agent(issuer, f"{gateway_server.url}/mcp", Path(tmp))
            try:
                auth = AuthSettings(
                    discovery_url=issuer.discovery_url, allowed_clients=(CLIENT,), allowed_scopes=(SCOPE,)
                )
                with BackgroundServer(build_frontdoor(agent_url, ORIGIN, auth, limits)) as door:
                    results = measure(agent_url, door.url, user_token(issuer), args.turns)
            finally:
                agent.terminate()
                agent.wait(timeout=10)
    report(results, args.turns)


def measure(agent_url: str, door_url: str, token: str, turns: int) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {
        "direct to the agent (baseline)": [],
        "through the front door": [],
    }
    targets = list(zip(results, (agent_url, door_url), strict=True))
    with httpx.Client(timeout=60) as http:
        for _, url in targets:  # warm-up: imports, agent build, JWKS fetch
            turn(http, url, token, PROMPTS[1])
        for i in range(turns):
            for name, url in targets if i % 2 == 0 else targets[::-1]:
                results[name].append(turn(http, url, token, PROMPTS[i % len(PROMPTS)]))
    return results


def report(results: dict[str, list[tuple[float, float]]], turns: int) -> None:
    baseline = next(iter(results.values()))
    base_first = statistics.median(s[0] for s in baseline)
    base_total = statistics.median(s[1] for s in baseline)
    columns = f"{'first event ms':>15} {'p90':>7} {'ratio':>6} {'whole turn ms':>14} {'p90':>7} {'ratio':>6}"
    print(f"{'path':32} {columns}   (n={turns})")
    for name, samples in results.items():
        firsts, totals = [s[0] for s in samples], [s[1] for s in samples]
        first, total = statistics.median(firsts), statistics.median(totals)
        p90_first, p90_total = (statistics.quantiles(v, n=10)[-1] for v in (firsts, totals))
        print(
            f"{name:32} {first * 1000:15.1f} {p90_first * 1000:7.1f} {first / base_first:6.2f} "
            f"{total * 1000:14.1f} {p90_total * 1000:7.1f} {total / base_total:6.2f}"
        )


if __name__ == "__main__":
    main()
