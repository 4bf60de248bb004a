"""Shared fixtures (servers, moto, agents) and session hooks; helpers live in tests/support/."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

# The layer markers and the unit layer's isolation guard (hooks are found by name in a conftest).
from tests.support.layers import _unit_isolation, pytest_collection_modifyitems  # noqa: F401
from tests.support.layers import pytest_configure as register_layer_markers
from tests.support.leaks import LeakScan
from tests.support.processes import REPO, VENV_BIN, serving_moto
from tests.support.stack import (
    ISSUER_SUBS,
    MACHINE_CLIENT,
    SCOPE,
    USER_CLIENT,
    AgentServer,
    InProcessAgent,
    auth_env,
    start_agent,
)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server (AWS emulator) on 127.0.0.1; yields its endpoint URL."""
    exe = shutil.which("moto_server", path=str(VENV_BIN)) or shutil.which("moto_server")
    assert exe, "moto_server is not installed (uv sync installs moto[server])"
    with serving_moto(
        lambda port: [exe, "-H", "127.0.0.1", "-p", str(port)], tmp_path_factory.mktemp("moto") / "moto.log"
    ) as url:
        yield url


@pytest.fixture
def aws_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for AWS clients (boto3, aws CLI) pointed at moto with dummy credentials."""
    values = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return {**os.environ, **values}


# -- the local stack: issuer, gateway, agent ---------------------------------------------------
@pytest.fixture(scope="session")
def issuer() -> Iterator[Any]:
    """A local Cognito-compatible issuer over real HTTP."""
    from scripts.localdev.issuer import LocalIssuer
    from scripts.localdev.pool import Client, IssuerConfig, User
    from scripts.localdev.serving import BackgroundServer

    config = IssuerConfig(
        clients=[
            Client(MACHINE_CLIENT, "machine-secret-for-tests", [SCOPE]),
            Client(USER_CLIENT, user_login=True),
        ],
        users=[User(name, f"{name}-password", sub) for name, sub in ISSUER_SUBS.items()],
    )
    issuer = LocalIssuer(config)
    with BackgroundServer(issuer.app()) as server:
        issuer.base_url = server.url
        yield issuer


@pytest.fixture(scope="session")
def orders_table(moto_server: str) -> dict[str, str]:
    """The orders table (as prerequisites.yaml declares it) on moto, seeded for alice and bob."""
    from scripts.localdev.orders import create_table, local_store, seed_users

    name = f"orders-{uuid.uuid4().hex[:8]}"
    create_table(moto_server, name)
    seed_users(local_store(moto_server, name), ISSUER_SUBS, datetime.now(timezone.utc).date())
    return {"ORDERS_TABLE_NAME": name, "ORDERS_ENDPOINT_URL": moto_server}


@pytest.fixture(scope="session")
def gateway(issuer: Any, orders_table: dict[str, str]) -> Iterator[Any]:
    """The local JWT-secured gateway (real MCP over streamable HTTP); `.url` is its MCP endpoint.

    Its AccountTools target reads `orders_table`; its Cedar policy is the manifest's.
    """
    from scripts.localdev.gateway import build_gateway
    from scripts.localdev.serving import BackgroundServer

    gw = build_gateway({**auth_env(issuer), **orders_table})
    with BackgroundServer(gw.app) as server:
        gw.url = f"{server.url}/mcp"
        yield gw


@pytest.fixture
def agent_factory(tmp_path: Path, issuer: Any, gateway: Any) -> Iterator[Any]:
    """Start agent processes with special settings; all stopped after the test."""
    started: list[AgentServer] = []

    def start(memory_dir: Path | None = None, **overrides: str) -> AgentServer:
        server = start_agent(issuer, gateway, tmp_path, memory_dir, **overrides)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_agent(
    tmp_path_factory: pytest.TempPathFactory, issuer: Any, gateway: Any
) -> Iterator[AgentServer]:
    """One agent process with the default local-stack settings, shared by a module's tests."""
    server = start_agent(issuer, gateway, tmp_path_factory.mktemp("agent"))
    yield server
    server.stop()


@pytest.fixture
def web_search() -> Iterator[Any]:
    """The local web-search MCP server (records every request's headers); `.url` is its endpoint."""
    from scripts.localdev.serving import BackgroundServer
    from scripts.localdev.websearch import LocalWebSearch

    server = LocalWebSearch()
    with BackgroundServer(server.app) as background:
        server.url = f"{background.url}/mcp"
        yield server


@pytest.fixture
def make_agent(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    """Start in-process agents configured by environment variables; all stopped after the test."""
    agents: list[InProcessAgent] = []

    def make(**env: str) -> InProcessAgent:
        agent = InProcessAgent(monkeypatch, {"LOCAL_MEMORY_DIR": str(tmp_path), **env})
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.server.stop()


# -- no token or secret may appear in any captured log (tests/support/leaks.py) ---------------
LEAK_SCAN: LeakScan  # made in pytest_configure (it creates the record file: no I/O at import)


def pytest_configure(config: pytest.Config) -> None:
    global LEAK_SCAN
    LEAK_SCAN = LeakScan()
    register_layer_markers(config)
    # Whatever a test starts inherits this: the public web search is never contacted from tests.
    os.environ["WEB_SEARCH_MCP_URL"] = ""
    LEAK_SCAN.activate()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, content in report.sections:
        LEAK_SCAN.check(f"{report.nodeid} [{name}]", content)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    local = [REPO / ".local" / name for name in ("demo", "dev-stack", "webchat", "rehearsal")]
    roots = [*local, REPO / "agentcore" / ".cli" / "logs"] + ([factory.getbasetemp()] if factory else [])
    LEAK_SCAN.check_logs(*roots)
    if LEAK_SCAN.leaks:
        print("\nSECRETS IN LOGS:\n" + "\n".join(sorted(set(LEAK_SCAN.leaks))))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    LEAK_SCAN.close()
