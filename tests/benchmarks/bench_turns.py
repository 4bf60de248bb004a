"""Per-turn cost of the gateway connection policy, measured side by side in one process.

    uv run python -m tests.benchmarks.bench_turns [--turns N]

Baseline: a turn that uses only local tools. Compared: a warranty turn through the local gateway
while the caller's token is unchanged (its tool listing is cached) and one where every turn brings
a new token (the gateway must list tools for it, as correctness requires). Every warranty turn
opens its own MCP session on the shared connection pool.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
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

CLIENT, SCOPE = "bench-client", "customersupport/invoke"


async def turn(service: SupportService, identity: Identity, session: str, prompt: str) -> float:
    start = time.perf_counter()
    text = "".join([c async for c in service.stream(prompt, identity, session) if isinstance(c, str)])
    elapsed = time.perf_counter() - start
    assert text.startswith("[offline model]") and "unavailable" not in text, text
    return elapsed


async def measure(service: SupportService, issuer: LocalIssuer, turns: int) -> dict[str, list[float]]:
    token = issuer.client_credentials_token(CLIENT, [SCOPE])
    same = Identity("sub-bench", token=token)
    results: dict[str, list[float]] = {
        "local tool (baseline)": [],
        "warranty, same token": [],
        "warranty, new token each turn": [],
    }
    await turn(service, same, "warm", "Check the warranty for PROD-001")  # warm-up: imports, agent build
    for i in range(turns):
        results["local tool (baseline)"].append(
            await turn(service, same, "s-local", "Return policy for audio?")
        )
        results["warranty, same token"].append(
            await turn(service, same, "s-same", f"Check the warranty for PROD-00{i % 5 + 1}")
        )
        fresh = Identity("sub-bench", token=issuer.client_credentials_token(CLIENT, [SCOPE]))
        results["warranty, new token each turn"].append(
            await turn(service, fresh, "s-fresh", f"Check the warranty for PROD-00{i % 5 + 1}")
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args()
    issuer = LocalIssuer(IssuerConfig(clients=[Client(CLIENT, "bench-secret", [SCOPE])]))
    with BackgroundServer(issuer.app()) as issuer_server, tempfile.TemporaryDirectory() as tmp:
        issuer.base_url = issuer_server.url
        auth = {"AUTH_DISCOVERY_URL": issuer.discovery_url, "AUTH_ALLOWED_CLIENTS": CLIENT}
        gateway = build_gateway(auth)
        with BackgroundServer(gateway.app) as gateway_server:
            service = SupportService(
                Settings(
                    model_provider="offline",
                    local_memory_dir=Path(tmp),
                    gateway_url=f"{gateway_server.url}/mcp",
                    auth=AuthSettings(mode="off"),
                )
            )
            results = asyncio.run(measure(service, issuer, args.turns))
            asyncio.run(service.close())
    baseline = statistics.median(results["local tool (baseline)"])
    print(f"{'turn kind':32} {'median ms':>10} {'p90 ms':>8} {'ratio':>7}   (n={args.turns})")
    for name, samples in results.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name:32} {median * 1000:10.1f} {p90 * 1000:8.1f} {median / baseline:7.2f}")


if __name__ == "__main__":
    main()
