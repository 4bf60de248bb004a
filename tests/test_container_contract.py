"""The container contract: the bundle `agentcore package` builds, started as the runtime starts it.

The synthesized template's entry point (`opentelemetry-instrument main.py`) is run from the
unzipped bundle with the template's environment variables (AUTH_*, gateway URL, memory id),
pointed at the local issuer, gateway and AgentCore Memory stand-in. It must serve /ping and an
authenticated streamed invocation, and stop within 5 s of SIGTERM. Without ``app.run()`` in
main.py nothing listens and these tests fail. The same bundle with the bytecode `scripts/agentcore
package` adds must answer its first turn without compiling a single module.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.localdev.memory import LocalMemory
from scripts.localdev.serving import BackgroundServer
from settings import GATEWAY_URL_ENV, MEMORY_ID_ENV
from tests.support.bundle import unpacked_bundle
from tests.support.processes import REPO, free_port, stop_process, wait_http
from tests.support.stack import USER_CLIENT, Reply, auth_env

ENTRY_POINT = ["opentelemetry-instrument", "main.py"]  # asserted against the template in test_cdk_synth
MEMORY_ID = "customersupport_CustomerSupportMemory-LOCAL0001"
SHUTDOWN_LIMIT_SECONDS = 5.0


def manifest_env_names() -> list[str]:
    """Names of the runtime's envVars in agentcore/agentcore.json (the template carries them)."""
    spec = json.loads((REPO / "agentcore" / "agentcore.json").read_text())
    return [item["name"] for item in spec["runtimes"][0].get("envVars", [])]


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle zip built like `agentcore package`, unzipped as the runtime unpacks it."""
    uv = shutil.which("uv")
    assert uv, "uv must be on PATH (scripts/test.sh puts it there)"
    return unpacked_bundle(tmp_path_factory.mktemp("bundle"), uv)


@pytest.fixture(scope="module")
def bytecode_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same bundle with the checked-hash bytecode scripts/deploy/bundle_bytecode.py adds, unzipped."""
    uv = shutil.which("uv")
    assert uv, "uv must be on PATH (scripts/test.sh puts it there)"
    return unpacked_bundle(tmp_path_factory.mktemp("bundle-bytecode"), uv, bytecode=True)


def runtime_command(bundle: Path) -> list[str]:
    """The entry point as the runtime runs it from a zip without file modes.

    The bundle's console script and the .py file both run through the runtime's Python.
    """
    python = str(Path(sys.base_prefix) / "bin" / "python3")
    tool, script = ENTRY_POINT
    return [python, str(bundle / "bin" / tool), "python3", script]


class RuntimeProcess:
    """The bundle running as on AgentCore Runtime, on a free loopback port."""

    def __init__(self, bundle: Path, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        base_bin = str(Path(sys.base_prefix) / "bin")
        env = {
            **env,
            "PATH": f"{base_bin}:{bundle / 'bin'}:/usr/bin:/bin",
            "HOME": str(log.parent),
            "PYTHONPATH": str(bundle),  # the unpacked zip is the runtime's code and package root
            "PYTHONNOUSERSITE": "1",  # only the bundle's packages, as on the runtime
            "HOST": "127.0.0.1",  # tests bind loopback only; the default is 0.0.0.0
            "PORT": str(self.port),
        }
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                runtime_command(bundle),
                cwd=bundle,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_http(f"{self.url}/ping", self.proc, timeout=60)

    def terminate(self) -> tuple[int, float]:
        """SIGTERM, as the runtime stops a session; returns (exit code, seconds to exit)."""
        started = time.monotonic()
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=SHUTDOWN_LIMIT_SECONDS * 3)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
            raise
        return code, time.monotonic() - started


@pytest.fixture
def local_memory() -> Iterator[LocalMemory]:
    """The AgentCore Memory stand-in over real HTTP; `.url` for boto3's endpoint."""
    memory = LocalMemory()
    with BackgroundServer(memory.app()) as server:
        memory.url = server.url  # type: ignore[attr-defined]
        yield memory


def template_env(issuer: Any, gateway: Any, memory_url: str) -> dict[str, str]:
    """The template's variables with local values, plus what a deployed runtime gets from AWS."""
    local = auth_env(issuer)
    env = {name: local.get(name, "enforce") for name in manifest_env_names()}
    env.update({GATEWAY_URL_ENV: gateway.url, MEMORY_ID_ENV: MEMORY_ID})
    env.update(
        {
            "MODEL_PROVIDER": "offline",  # Bedrock inference cannot run here
            "WEB_SEARCH_MCP_URL": "",  # no public web search from a test
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": memory_url,
            # Telemetry stays on this machine: no exporter sends anything.
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        }
    )
    return env


def test_bundle_has_the_manifest_env_names_and_main_at_the_root(bundle_dir: Path) -> None:
    assert (bundle_dir / "main.py").is_file()
    assert (bundle_dir / "bin" / ENTRY_POINT[0]).is_file()
    assert set(manifest_env_names()) >= {"AUTH_MODE", "AUTH_DISCOVERY_URL", "AUTH_ALLOWED_CLIENTS"}


def test_entry_point_serves_an_authenticated_streamed_turn_and_stops_on_sigterm(
    bundle_dir: Path, issuer: Any, gateway: Any, local_memory: Any, tmp_path: Path
) -> None:
    env = template_env(issuer, gateway, local_memory.url)
    runtime = RuntimeProcess(bundle_dir, env, tmp_path / "runtime.log")
    try:
        ping = httpx.get(f"{runtime.url}/ping", timeout=5)
        assert ping.status_code == 200 and ping.json()["status"] == "Healthy"

        user = issuer.user("alice")
        token = issuer.user_tokens(user, USER_CLIENT)["access"]
        response = httpx.post(
            f"{runtime.url}/invocations",
            json={"prompt": "Check the warranty for PROD-002"},
            headers={
                "Authorization": f"Bearer {token}",
                "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "contract-session-0001",
                "Accept": "text/event-stream",
            },
            timeout=60,
        )
        reply = Reply.parse(response)
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/event-stream"
        )
        assert not reply.errors, runtime.log.read_text()[-3000:]
        assert "warranty status" in reply.text.lower() and "Smart Watch" in reply.text
        assert [c.tool for c in gateway.calls][-1:] == ["WarrantyCheck___check_warranty"]

        # Memory went to the AgentCore Memory API, keyed by the token's sub and the header's session.
        writes = [c for c in local_memory.calls if c["operation"] == "CreateEvent"]
        assert writes, local_memory.calls
        assert {(c["actorId"], c["sessionId"]) for c in writes} == {(user.sub, "contract-session-0001")}

        unauthenticated = httpx.post(f"{runtime.url}/invocations", json={"prompt": "hi"}, timeout=10)
        assert unauthenticated.status_code == 401
    finally:
        code, seconds = runtime.terminate()
    log = runtime.log.read_text()
    # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM is a clean exit.
    assert code in (0, -signal.SIGTERM), log[-3000:]
    assert "Application shutdown complete." in log
    assert seconds < SHUTDOWN_LIMIT_SECONDS, f"took {seconds:.1f} s to stop"
    assert "were not closed" not in log
    assert token not in log


def test_bad_port_stops_start_up_with_a_clear_message(bundle_dir: Path, tmp_path: Path) -> None:
    env = {
        "PATH": f"{Path(sys.base_prefix) / 'bin'}:/usr/bin:/bin",
        "PYTHONPATH": str(bundle_dir),
        "PORT": "eighty",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        runtime_command(bundle_dir), cwd=bundle_dir, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "PORT: expected a TCP port number (1-65535), got 'eighty'" in result.stderr
    assert "Traceback" not in result.stderr


def bytecode_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every .pyc file under ``root``: (size, mtime in ns).

    Only bytecode counts: a machine's own start-up hooks may touch other files (here a site .pth
    adds a CA certificate to every certifi bundle it finds), and the runtime has none of those.
    """
    return {
        str(path.relative_to(root)): (stat.st_size, stat.st_mtime_ns)
        for path in root.rglob("*.pyc")
        for stat in [path.stat()]
    }


def answer_first_turn(bundle: Path, env: dict[str, str], issuer: Any, log: Path) -> None:
    """Start the bundle as the runtime does, answer one authenticated turn, stop it."""
    runtime = RuntimeProcess(bundle, env, log)
    try:
        token = issuer.user_tokens(issuer.user("alice"), USER_CLIENT)["access"]
        response = httpx.post(
            f"{runtime.url}/invocations",
            json={"prompt": "Check the warranty for PROD-002"},
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
            timeout=60,
        )
        reply = Reply.parse(response)
        assert response.status_code == 200 and not reply.errors, log.read_text()[-3000:]
        assert "Smart Watch" in reply.text
    finally:
        runtime.terminate()


def test_first_turn_from_a_bundle_with_bytecode_compiles_nothing(
    bytecode_bundle_dir: Path, issuer: Any, gateway: Any, local_memory: Any, tmp_path: Path
) -> None:
    """Python writes a .pyc beside every module it compiles from source; this run may write them.

    So a module without bytecode, with bytecode of another Python version, or with bytecode whose
    source hash no longer matches, leaves a new or changed file in the tree.
    """
    env = template_env(issuer, gateway, local_memory.url)
    assert "PYTHONDONTWRITEBYTECODE" not in env
    before = bytecode_state(bytecode_bundle_dir)
    answer_first_turn(bytecode_bundle_dir, env, issuer, tmp_path / "with-bytecode.log")
    after = bytecode_state(bytecode_bundle_dir)
    changed = sorted(name for name in after.keys() | before.keys() if after.get(name) != before.get(name))
    assert changed == [], [(name, before.get(name), after.get(name)) for name in changed[:10]]

    # The check can fail: the same tree without its bytecode gains a .pyc for each module it imports.
    control = tmp_path / "no-bytecode"
    shutil.copytree(bytecode_bundle_dir, control, ignore=shutil.ignore_patterns("__pycache__"))
    before = bytecode_state(control)
    answer_first_turn(control, env, issuer, tmp_path / "without-bytecode.log")
    written = sorted(bytecode_state(control).keys() - before.keys())
    assert before == {} and len(written) > 500, written[:10]
