"""Isolation and footprint of the gateway hop, measured on the agent process over real HTTP.

    uv run python -m tests.benchmarks.bench_gateway_isolation [--samples N] [--sessions 0,500,2000]

One run prints:
1. threads, file descriptors and RSS of the agent after 0, 500 and 2000 distinct sessions (each
   made one warranty turn), and again after the gateway idle time;
2. /ping p50/p99 and local-tool turn p50/p95 with 0 vs 40 gateway calls hanging (ratio);
3. a warranty turn with a new token each turn vs the same token (ratio);
4. gateway HTTP requests made by a new session's local-tool-only turn (same token / new token),
   and by a warranty turn: steady (a known token), a new session of a known token, a never-seen
   token.

The agent runs as `agentcore dev` runs it (uvicorn main:app); the gateway is the real local gateway
behind tests/support/faulty_mcp.py, which makes tools/call hang on demand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from scripts.localdev.gateway import build_gateway
from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.pool import Client, IssuerConfig
from scripts.localdev.serving import BackgroundServer
from tests.support.faulty_mcp import FaultyGateway
from tests.support.stack import AgentServer, start_agent

CLIENT, SCOPE = "bench-client", "customersupport/invoke"
WARRANTY = {"prompt": "Check the warranty for PROD-001"}
LOCAL = {"prompt": "What's the return policy for accessories?"}
HANGING = 40
IDLE_SECONDS = 3
RETRY_SECONDS = 1


def pct(samples: list[float], q: int) -> float:
    """The q-th percentile in ms."""
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def footprint(pid: int) -> tuple[int, int, float]:
    """Threads, open file descriptors and RSS (MB) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    threads = int(fields["Threads"].strip())
    rss_mb = int(fields["VmRSS"].split()[0]) / 1024
    return threads, len(os.listdir(f"/proc/{pid}/fd")), rss_mb


def timed(call: Any) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def local_turn(agent: AgentServer, token: str) -> None:
    reply = agent.invoke(LOCAL, token, f"s-{uuid.uuid4()}")
    assert reply.status == 200 and "14 days" in reply.text, reply.body


def ping(agent: AgentServer) -> None:
    assert httpx.get(f"{agent.url}/ping", timeout=30).status_code == 200


def latency(agent: AgentServer, token: str, samples: int) -> tuple[list[float], list[float]]:
    pings = [timed(lambda: ping(agent)) for _ in range(samples * 3)]
    turns = [timed(lambda: local_turn(agent, token)) for _ in range(samples)]
    return pings, turns


def isolation(agent: AgentServer, layer: FaultyGateway, issuer: LocalIssuer, samples: int) -> None:
    token = issuer.client_credentials_token(CLIENT, [SCOPE])
    local_turn(agent, token)  # warm-up: imports, the token's tool listing
    quiet = latency(agent, token, samples)
    layer.faults = {"tools/call": "hang"}
    with ThreadPoolExecutor(HANGING) as pool:
        hung = [pool.submit(agent.invoke, WARRANTY, token, f"h-{uuid.uuid4()}") for _ in range(HANGING)]
        deadline = time.monotonic() + 30
        while layer.hanging < HANGING and time.monotonic() < deadline:
            time.sleep(0.05)
        assert layer.hanging == HANGING, layer.hanging
        loaded = latency(agent, token, samples)
        still = layer.hanging
        layer.release()
        for future in hung:
            future.result(timeout=60)
    layer.faults = {}
    time.sleep(RETRY_SECONDS + 0.5)  # released calls got 503: let the outage back-off pass
    print(f"\n2. Isolation ({HANGING} gateway calls hanging throughout: {still == HANGING})")
    print(f"{'':28} {'0 hanging':>10} {'40 hanging':>11} {'ratio':>6}")
    for name, q, index in (("/ping p50 ms", 50, 0), ("/ping p99 ms", 99, 0)):
        a, b = pct(quiet[index], q), pct(loaded[index], q)
        print(f"{name:28} {a:10.1f} {b:11.1f} {b / a:6.2f}")
    for name, q in (("local-tool turn p50 ms", 50), ("local-tool turn p95 ms", 95)):
        a, b = pct(quiet[1], q), pct(loaded[1], q)
        print(f"{name:28} {a:10.1f} {b:11.1f} {b / a:6.2f}")


def sessions_footprint(agent: AgentServer, issuer: LocalIssuer, points: list[int]) -> None:
    token = issuer.client_credentials_token(CLIENT, [SCOPE])
    print("\n1. Agent process footprint after N distinct sessions (each one warranty turn)")
    print(f"{'sessions':>9} {'threads':>8} {'fds':>5} {'RSS MB':>8}")
    done = 0
    rows = []
    for target in points:
        with ThreadPoolExecutor(8) as pool:
            replies = list(
                pool.map(lambda _: agent.invoke(WARRANTY, token, f"f-{uuid.uuid4()}"), range(target - done))
            )
        assert all("Wireless Headphones" in r.text for r in replies), [r.text for r in replies][:3]
        done = target
        rows.append((f"{target}", *footprint(agent.proc.pid)))
    time.sleep(IDLE_SECONDS + 1.5)
    rows.append((f"{done}+idle", *footprint(agent.proc.pid)))
    for name, threads, fds, rss in rows:
        print(f"{name:>9} {threads:8d} {fds:5d} {rss:8.1f}")
    print(f"(idle row: after GATEWAY_IDLE_SECONDS={IDLE_SECONDS}; SESSION_CACHE_SIZE is the default 128)")


def token_cost(agent: AgentServer, issuer: LocalIssuer, samples: int) -> None:
    same = issuer.client_credentials_token(CLIENT, [SCOPE])
    session = f"t-{uuid.uuid4()}"
    agent.invoke(WARRANTY, same, session)
    same_times, new_times = [], []
    for _ in range(samples):
        same_times.append(timed(lambda: agent.invoke(WARRANTY, same, session)))
        fresh = issuer.client_credentials_token(CLIENT, [SCOPE])
        new_times.append(timed(lambda token=fresh: agent.invoke(WARRANTY, token, session)))
    a, b = statistics.median(same_times) * 1000, statistics.median(new_times) * 1000
    print("\n3. Warranty turn, same session: same token vs a new token each turn")
    print(f"{'same token median ms':28} {a:8.1f}")
    print(f"{'new token median ms':28} {b:8.1f}")
    print(f"{'ratio':28} {b / a:8.2f}")


def requests_of_local_turn(agent: AgentServer, layer: FaultyGateway, issuer: LocalIssuer) -> None:
    known = issuer.client_credentials_token(CLIENT, [SCOPE])
    local_turn(agent, known)
    counts = []
    for token in (known, issuer.client_credentials_token(CLIENT, [SCOPE])):
        before = layer.http_requests
        local_turn(agent, token)
        counts.append(layer.http_requests - before)
    print("\n4. Gateway HTTP requests made by a new session's local-tool-only turn")
    print(f"{'known token':28} {counts[0]:8d}\n{'never-seen token':28} {counts[1]:8d}")
    session = f"w-{uuid.uuid4()}"
    agent.invoke(WARRANTY, known, session)
    rows = []
    for name, token, sid in (
        ("steady (known token)", known, session),
        ("new session, known token", known, f"w-{uuid.uuid4()}"),
        ("never-seen token", issuer.client_credentials_token(CLIENT, [SCOPE]), session),
    ):
        before = layer.http_requests
        reply = agent.invoke(WARRANTY, token, sid)
        assert "Wireless Headphones" in reply.text, reply.body
        time.sleep(0.05)  # background closes land in this row
        rows.append((name, layer.http_requests - before))
    print("   ...and by a warranty turn")
    for name, count in rows:
        print(f"{name:28} {count:8d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--sessions", default="0,500,2000")
    args = parser.parse_args()
    points = [int(n) for n in args.sessions.split(",")]
    issuer = LocalIssuer(IssuerConfig(clients=[Client(CLIENT, "bench-secret", [SCOPE])]))
    with BackgroundServer(issuer.app()) as issuer_server, tempfile.TemporaryDirectory() as tmp:
        issuer.base_url = issuer_server.url
        auth = {
            "AUTH_MODE": "enforce",
            "AUTH_DISCOVERY_URL": issuer.discovery_url,
            "AUTH_ALLOWED_CLIENTS": CLIENT,
        }
        layer = FaultyGateway(build_gateway(auth).app)
        with BackgroundServer(layer) as gateway_server:

            class Gateway:
                url = f"{gateway_server.url}/mcp"

            agent = start_agent(
                issuer,
                Gateway,
                Path(tmp),
                GATEWAY_TIMEOUT_SECONDS="60",
                GATEWAY_IDLE_SECONDS=str(IDLE_SECONDS),
                GATEWAY_RETRY_SECONDS=str(RETRY_SECONDS),
                AUTH_ALLOWED_CLIENTS=CLIENT,
            )
            agent_env_note = "agent: uvicorn main:app, offline model, local gateway; 2-core shared machine"
            try:
                print(agent_env_note)
                sessions_footprint(agent, issuer, points)
                isolation(agent, layer, issuer, args.samples)
                token_cost(agent, issuer, args.samples)
                requests_of_local_turn(agent, layer, issuer)
            finally:
                layer.release()
                agent.stop()


if __name__ == "__main__":
    main()
