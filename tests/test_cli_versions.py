"""Which `agentcore` the project's scripts run: the npm CLI v0, never 1.x, and never silently another.

The `agentcore` binaries here are stand-ins: each prints a version and records how it was called,
which is all scripts/lib.sh asks of a candidate before choosing it. The thing under test is the
choice (scripts/agentcore and ensure_agentcore_cli), not the CLI.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import REPO
from tests.support.requirements import missing

pytestmark = pytest.mark.integration

LOCAL_CLI = REPO / ".local" / "agentcore-cli" / "node_modules" / ".bin" / "agentcore"
TIMEOUT_SECONDS = 120


def fake_cli(directory: Path, version: str, help_text: str = "Usage: agentcore") -> Path:
    """An executable `agentcore` in ``directory`` printing ``version``; its calls go to ``calls``."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "agentcore"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{directory}/calls"\n'
        f'case "$1" in --version) echo "{version}" ;; *) echo "{help_text}" ;; esac\n'
    )
    script.chmod(0o755)
    return script


def calls(fake: Path) -> list[str]:
    log = fake.parent / "calls"
    return log.read_text().splitlines() if log.exists() else []


def env_with(fake_dir: Path, **extra: str) -> dict[str, str]:
    """The test's environment with ``fake_dir`` first on PATH and no AGENTCORE_CLI unless given."""
    env = {k: v for k, v in os.environ.items() if k != "AGENTCORE_CLI"}
    return {**env, "PATH": f"{fake_dir}:{env['PATH']}", **extra}


def ensure_cli(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", "source scripts/lib.sh; ensure_agentcore_cli"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )


def assert_explains_1x(stderr: str, fake: Path) -> None:
    assert f"{fake} is the agentcore CLI 1.0.0" in stderr, stderr
    explained = ("tested with v0", '"version": 2', "`build`", "agentcore migrate", "none of that is tested")
    for needed in explained:
        assert needed in stderr, (needed, stderr)
    assert "npm install -g @aws/agentcore@0" in stderr


def test_wrapper_refuses_a_1x_cli_on_path_before_running_anything(tmp_path: Path) -> None:
    fake = fake_cli(tmp_path / "bin", "1.0.0")
    result = subprocess.run(
        [str(REPO / "scripts" / "agentcore"), "validate"],
        env=env_with(fake.parent),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 1, result.stderr
    assert_explains_1x(result.stderr, fake)
    assert "no usable agentcore CLI" in result.stderr
    assert calls(fake) == ["--version"]  # asked its version, never given the command
    assert result.stdout == ""


def test_a_1x_cli_named_by_agentcore_cli_is_refused_too(tmp_path: Path) -> None:
    fake = fake_cli(tmp_path / "bin", "1.0.0")
    result = ensure_cli(env_with(tmp_path / "empty", AGENTCORE_CLI=str(fake)))
    assert result.returncode == 1 and result.stdout == ""
    assert_explains_1x(result.stderr, fake)


@pytest.mark.parametrize(
    ("version", "help_text"),
    [
        ("agentcore starter toolkit", "Usage: agentcore [OPTIONS] COMMAND"),
        ("0.1.28", "Commands: configure launch"),
    ],
    ids=["no-semver", "v0-without-validate"],
)
def test_a_non_npm_agentcore_on_path_is_passed_over_in_one_line(
    tmp_path: Path, version: str, help_text: str
) -> None:
    if not LOCAL_CLI.exists():
        missing(f"the project's v0 CLI is not installed at {LOCAL_CLI} (scripts/install-agentcore-cli.sh)")
    fake = fake_cli(tmp_path / "bin", version, help_text)
    result = ensure_cli(env_with(fake.parent))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str(LOCAL_CLI)
    said = [line for line in result.stderr.splitlines() if str(fake) in line]
    assert len(said) == 1, result.stderr
    assert "not the npm @aws/agentcore CLI v0" in said[0] and ".local/agentcore-cli" in said[0]
    assert "validate" not in calls(fake)
