"""Per-turn cost of the gateway connection policy, measured side by side in one process.

    uv run python -m tests.benchmarks.bench_turns [--turns N]

Baseline: a turn that uses only local tools. Compared: a warranty turn through the local gateway
while the caller's token is unchanged (steady) and one where every turn brings a new token (the
gateway must list tools for it, as correctness requires). For each kind it also reports the
gateway HTTP requests per turn (median) and the JSON-RPC methods they carried, counted by
tests/support/faulty_mcp.py's layer (no faults) in front of the real local gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from scripts.localdev.paths import agent_code_on_path

agent_code_on_path()

from auth import Identity  # noqa: E402
from scripts.localdev.gateway import build_gateway  # noqa: E402
from scripts.localdev.issuer import LocalIssuer  # noqa: E402
from scripts.localdev.pool import Client, IssuerConfig  # noqa: E402
from scripts.localdev.serving import BackgroundServer  # noqa: E402
from service import SupportService  # noqa: E402
from settings import AuthSettings, Settings  # noqa: E402
from tests.support.faulty_mcp import FaultyGateway  # noqa: E402

Samples = dict[str, list[float]]

CLIENT, SCOPE = "bench-client", "customersupport/invoke"


async def turn(service: SupportService, identity: Identity, session: str, prompt: str) -> float:
    start = time.perf_counter()
    text = "".join([c async for c in service.stream(prompt, identity, session) if isinstance(c, str)])
    elapsed = time.perf_counter() - start
    assert text.startswith("[offline model]") and "unavailable" not in text, text
    return elapsed


async def measure(
    service: SupportService, issuer: LocalIssuer, layer: FaultyGateway, turns: int
) -> tuple[Samples, Samples, dict[str, Counter[str]]]:
    token = issuer.client_credentials_token(CLIENT, [SCOPE])
    same = Identity("sub-bench", token=token)
    kinds = ("local tool (baseline)", "warranty, same token", "warranty, new token each turn")
    times: Samples = {kind: [] for kind in kinds}
    requests: Samples = {kind: [] for kind in kinds}
    methods: dict[str, Counter[str]] = {kind: Counter() for kind in kinds}
    await turn(service, same, "warm", "Check the warranty for PROD-001")  # warm-up: imports, agent build
    await turn(service, same, "s-same", "Check the warranty for PROD-001")  # the steady session's first

    async def one(kind: str, identity: Identity, session: str, prompt: str) -> None:
        before, seen = layer.http_requests, Counter(layer.methods)
        times[kind].append(await turn(service, identity, session, prompt))
        await asyncio.sleep(0.02)  # background closes (DELETE) of this turn land in this turn
        requests[kind].append(layer.http_requests - before)
        methods[kind].update(Counter(layer.methods) - seen)

    for i in range(turns):
        await one(kinds[0], same, "s-local", "Return policy for audio?")
        await one(kinds[1], same, "s-same", f"Check the warranty for PROD-00{i % 5 + 1}")
        fresh = Identity("sub-bench", token=issuer.client_credentials_token(CLIENT, [SCOPE]))
        await one(kinds[2], fresh, "s-fresh", f"Check the warranty for PROD-00{i % 5 + 1}")
    await service.close()  # on the loop that served the turns
    return times, requests, methods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args()
    issuer = LocalIssuer(IssuerConfig(clients=[Client(CLIENT, "bench-secret", [SCOPE])]))
    with BackgroundServer(issuer.app()) as issuer_server, tempfile.TemporaryDirectory() as tmp:
        issuer.base_url = issuer_server.url
        auth = {"AUTH_DISCOVERY_URL": issuer.discovery_url, "AUTH_ALLOWED_CLIENTS": CLIENT}
        layer = FaultyGateway(build_gateway(auth).app)
        with BackgroundServer(layer) as gateway_server:
            service = SupportService(
                Settings(
                    model_provider="offline",
                    local_memory_dir=Path(tmp),
                    gateway_url=f"{gateway_server.url}/mcp",
                    auth=AuthSettings(mode="off"),
                )
            )
            results, requests, methods = asyncio.run(measure(service, issuer, layer, args.turns))
    baseline = statistics.median(results["local tool (baseline)"])
    print(f"{'turn kind':32} {'median ms':>10} {'p90 ms':>8} {'ratio':>7} {'requests':>9}   (n={args.turns})")
    for name, samples in results.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        count = statistics.median(requests[name])
        print(f"{name:32} {median * 1000:10.1f} {p90 * 1000:8.1f} {median / baseline:7.2f} {count:9.0f}")
    for name, seen in methods.items():
        per_turn = ", ".join(f"{method} {n / args.turns:.1f}" for method, n in sorted(seen.items()))
        print(f"  {name}: {per_turn or 'none'}")


if __name__ == "__main__":
    main()
