"""The real `agentcore` CLI on this repository: validate and package."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import EXPECTED_MAJOR_MINOR, cli_version, find_agentcore_cli
from tests.support.processes import REPO
from tests.support.stack import USER_CLIENT


@pytest.fixture(scope="module")
def cli() -> str:
    path = find_agentcore_cli()
    assert cli_version(path)[:2] == EXPECTED_MAJOR_MINOR
    return path


def run(cli: str, *args: str, cwd: Path = REPO, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTCORE_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1"}
    return subprocess.run([cli, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_cli_is_the_npm_cli_not_the_starter_toolkit(cli: str) -> None:
    # The starter toolkit's Python `agentcore` has no `validate` command and a different version.
    first_line = Path(cli).resolve().read_text(errors="ignore").splitlines()[0]
    assert "node" in first_line and "python" not in first_line, first_line
    help_text = run(cli, "--help").stdout
    assert re.search(r"^\s+validate\b", help_text, re.MULTILINE), help_text
    assert re.search(r"^\s+package\b", help_text, re.MULTILINE)


def test_validate_passes_on_the_repository(cli: str) -> None:
    result = run(cli, "validate", "--json")
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"success": True}, result.stderr


def test_validate_rejects_a_broken_manifest(cli: str, tmp_path: Path) -> None:
    """Proves the check above can fail: an http discovery URL is invalid for CUSTOM_JWT."""
    shutil.copytree(REPO / "agentcore", tmp_path / "agentcore", ignore=shutil.ignore_patterns("cdk"))
    manifest = tmp_path / "agentcore" / "agentcore.json"
    spec = json.loads(manifest.read_text())
    spec["runtimes"][0]["authorizerConfiguration"]["customJwtAuthorizer"]["discoveryUrl"] = "http://x/oidc"
    manifest.write_text(json.dumps(spec, indent=2))
    result = run(cli, "validate", "--json", cwd=tmp_path)
    verdict = json.loads(result.stdout.strip().splitlines()[-1])
    assert verdict["success"] is False and "discovery" in verdict["error"].lower()
    assert result.returncode != 0


def test_package_builds_an_arm64_python313_bundle(cli: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "agentcore", project / "agentcore", ignore=shutil.ignore_patterns("cdk", "*.zip"))
    shutil.copytree(
        REPO / "app" / "CustomerSupport",
        project / "app" / "CustomerSupport",
        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".local"),
    )
    (project / "app" / "CustomerSupport" / ".env.local").write_text("SECRET=do-not-ship\n")
    result = run(cli, "package", "-d", str(project))
    assert result.returncode == 0, result.stdout + result.stderr
    bundle = project / "agentcore" / "CustomerSupport.zip"
    assert bundle.stat().st_size < 250 * 1024 * 1024
    names = zipfile.ZipFile(bundle).namelist()
    for module in ("main.py", "service.py", "guard.py", "settings.py", "tools/data/products.json"):
        assert module in names, module
    assert not any(n.startswith((".env", ".venv/", ".local/")) or "__pycache__" in n for n in names)
    extensions = [n for n in names if n.endswith(".so")]
    assert extensions, "expected compiled wheels (cryptography, pydantic-core, ...)"
    for name in extensions:
        assert re.search(r"(cpython-313-aarch64-linux-gnu|abi3)\.so$", name), name
    wheels = [n for n in names if n.endswith(".dist-info/WHEEL")]
    tags = "".join(zipfile.ZipFile(bundle).read(n).decode() for n in wheels)
    assert "aarch64" in tags and "x86_64" not in tags
    assert any(n.startswith("bedrock_agentcore/") for n in names)
    # The runtime launches `opentelemetry-instrument main.py`: the distro must be in the bundle.
    assert any(n.startswith("amazon/opentelemetry/distro/") for n in names)


# -- scripts/agentcore: a token-carrying `dev` call goes only to this project's agent ---------------
def test_wrapper_refuses_to_send_headers_to_a_foreign_listener(cli: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from scripts.localdev.serving import BackgroundServer

    seen: list[str] = []

    async def record(request: Request) -> PlainTextResponse:
        seen.append(request.url.path)
        return PlainTextResponse("not an agent")

    foreign = Starlette(routes=[Route("/{path:path}", record, methods=["GET", "POST"])])
    with BackgroundServer(foreign) as server:
        result = subprocess.run(
            [str(REPO / "scripts" / "agentcore"), "dev", "--port", str(server.port)]
            + ["-H", "Authorization: Bearer not-a-real-token", "--stream", "hello"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "AGENTCORE_CLI": cli},
        )
    assert result.returncode == 1
    assert "not this project's agent" in result.stderr and "nothing was sent" in result.stderr
    assert seen == []


def test_wrapper_sends_to_the_projects_agent(cli: str, shared_agent: Any, issuer: Any) -> None:
    token = issuer.user_tokens(issuer.user("alice"), USER_CLIENT)["access"]
    result = subprocess.run(
        [str(REPO / "scripts" / "agentcore"), "dev", "--port", str(shared_agent.port)]
        + ["-H", f"Authorization: Bearer {token}", "--stream", "What's the return policy for audio?"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AGENTCORE_CLI": cli},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Return policy for audio" in result.stdout
