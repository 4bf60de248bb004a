"""Shared fixtures: free ports, background servers, moto, signing keys."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

# The layer markers and the unit layer's isolation guard (hooks are found by name in a conftest).
from tests.support.layers import _unit_isolation, pytest_collection_modifyitems  # noqa: F401
from tests.support.layers import pytest_configure as register_layer_markers
from tests.support.leaks import LeakScan

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
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


def stop_process(proc: subprocess.Popen) -> None:
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
) -> subprocess.Popen:
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
MACHINE_CLIENT = "cs-machine-client"
USER_CLIENT = "cs-web-client"
SCOPE = "customersupport/invoke"


@pytest.fixture(scope="session")
def issuer() -> Iterator[Any]:
    """A local Cognito-compatible issuer over real HTTP."""
    from scripts.localdev.issuer import Client, IssuerConfig, LocalIssuer, User
    from scripts.localdev.serving import BackgroundServer

    config = IssuerConfig(
        clients=[
            Client(MACHINE_CLIENT, "machine-secret-for-tests", [SCOPE]),
            Client(USER_CLIENT, user_login=True),
        ],
        users=[User("alice", "alice-password", "sub-alice"), User("bob", "bob-password", "sub-bob")],
    )
    issuer = LocalIssuer(config)
    with BackgroundServer(issuer.app()) as server:
        issuer.base_url = server.url
        yield issuer


def auth_env(issuer: Any) -> dict[str, str]:
    """AUTH_* variables pointing the agent or gateway at the test issuer."""
    return {
        "AUTH_MODE": "enforce",
        "AUTH_DISCOVERY_URL": issuer.discovery_url,
        "AUTH_ALLOWED_CLIENTS": f"{MACHINE_CLIENT},{USER_CLIENT}",
    }


@pytest.fixture(scope="session")
def gateway(issuer: Any) -> Iterator[Any]:
    """The local JWT-secured gateway (real MCP over streamable HTTP); `.url` is its MCP endpoint."""
    from scripts.localdev.gateway import build_gateway
    from scripts.localdev.serving import BackgroundServer

    gw = build_gateway(auth_env(issuer))
    with BackgroundServer(gw.app) as server:
        gw.url = f"{server.url}/mcp"
        yield gw


class AgentServer:
    """The agent as `agentcore dev` runs it: uvicorn main:app in its own process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        uvicorn = str(VENV_BIN / "uvicorn")
        self.proc = start_process(
            [uvicorn, "main:app", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            cwd=REPO / "app" / "CustomerSupport",
            log=log,
        )
        wait_http(f"{self.url}/ping", self.proc)

    def invoke(
        self,
        body: Any,
        token: str | None = None,
        session: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """POST /invocations and collect the streamed answer."""
        send = dict(headers or {})
        if token is not None:
            send["Authorization"] = f"Bearer {token}"
        if session is not None:
            send["X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"] = session
        content = raw if raw is not None else json.dumps(body).encode()
        response = httpx.post(f"{self.url}/invocations", content=content, headers=send, timeout=60)
        return Reply.parse(response)

    def stop(self) -> None:
        stop_process(self.proc)


@dataclass
class Reply:
    """An /invocations response: status, the streamed text, error events, raw body."""

    status: int
    text: str
    errors: list[str]
    body: str
    headers: httpx.Headers

    @classmethod
    def parse(cls, response: httpx.Response) -> Reply:
        text, errors = [], []
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for line in response.text.splitlines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if isinstance(event, str):
                    text.append(event)
                elif isinstance(event, dict) and "error" in event:
                    errors.append(str(event["error"]))
        elif response.status_code >= 400:
            errors.append(str(response.json().get("error")))
        return cls(response.status_code, "".join(text), errors, response.text, response.headers)


def start_agent(
    issuer: Any, gateway: Any, workdir: Path, memory_dir: Path | None = None, **overrides: str
) -> AgentServer:
    """An agent process with the local stack's settings plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "AGENTCORE_", "MEMORY_"))}
    env.update(auth_env(issuer))
    env.update(
        {
            "MODEL_PROVIDER": "offline",
            "WEB_SEARCH_MCP_URL": "",  # no public host, ever; tests that search pass a local server
            "AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL": gateway.url,
            "LOCAL_MEMORY_DIR": str(memory_dir or workdir / "sessions"),
        }
    )
    env.update(overrides)
    return AgentServer(env, workdir / f"agent-{uuid.uuid4().hex[:8]}.log")


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
        server.url = f"{background.url}/mcp"  # type: ignore[attr-defined]
        yield server


# -- the agent app in this process (lets a test see whether the entrypoint ran) ----------------
class InProcessAgent:
    """main.app served by uvicorn in this process, configured by environment variables."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
        import main
        from scripts.localdev.serving import BackgroundServer

        monkeypatch.delenv("AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL", raising=False)
        monkeypatch.delenv("MEMORY_CUSTOMERSUPPORTMEMORY_ID", raising=False)
        for key, value in {"MODEL_PROVIDER": "offline", "WEB_SEARCH_MCP_URL": "", **env}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(main, "_service", None)
        self.entered: list[dict[str, Any]] = []
        original = main.app.handlers["main"]

        async def spy(payload: dict[str, Any], context: Any):  # noqa: ANN202 - mirrors the entrypoint
            self.entered.append(payload)
            async for chunk in original(payload, context):
                yield chunk

        monkeypatch.setitem(main.app.handlers, "main", spy)
        self.server = BackgroundServer(main.app).start()
        self.url = self.server.url

    def post(
        self, authorization: str | None, prompt: str = "What is the return policy for audio?"
    ) -> httpx.Response:
        headers = {"Authorization": authorization} if authorization is not None else {}
        return httpx.post(f"{self.url}/invocations", json={"prompt": prompt}, headers=headers, timeout=30)


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
LEAK_SCAN = LeakScan()


def pytest_configure(config: pytest.Config) -> None:
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
