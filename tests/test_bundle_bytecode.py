"""`scripts/agentcore package`: bytecode for the runtime's Python version, or none at all.

The wrapper runs the real CLI's `package` (whose zip leaves out every ``__pycache__``), then adds
checked-hash ``.pyc`` files compiled by an interpreter of the manifest's ``runtimeVersion``. A copy
of the project whose runtime is this machine's Python gets valid bytecode for every module; a copy
whose runtime is a version uv cannot find here gets none, and one line says why. (The bundle is
built for arm64 and cannot start here; tests/test_container_contract.py starts the same bytecode
on a host-platform bundle and shows its first turn compiles nothing.) `deploy`, which zips inside
the CDK app, says in one line that it ships none; `package --help` touches no bundle (a stand-in v0
CLI serves those two).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.cli import EXPECTED_MAJOR_MINOR, cli_version, find_agentcore_cli
from tests.support.processes import REPO
from tests.support.requirements import missing

pytestmark = pytest.mark.e2e

MACHINE = f"{sys.version_info.major}.{sys.version_info.minor}"
RUNTIME_VERSIONS = ("3.13", "3.12", "3.11", "3.10")  # the manifest's PYTHON_3_x that CLI v0 packages
PACKAGE_TIMEOUT_SECONDS = 900
CHECKED_HASH = 3  # PEP 552 flags: hash-based, checked against the source


@pytest.fixture(scope="module")
def cli() -> str:
    path = find_agentcore_cli()
    assert cli_version(path)[:2] == EXPECTED_MAJOR_MINOR
    return path


def project_copy(root: Path, version: str) -> Path:
    """The project's manifest and agent code under ``root``, its runtime set to Python ``version``."""
    project = root / "project"
    shutil.copytree(REPO / "agentcore", project / "agentcore", ignore=shutil.ignore_patterns("cdk", "*.zip"))
    shutil.copytree(
        REPO / "app" / "CustomerSupport",
        project / "app" / "CustomerSupport",
        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".local"),
    )
    manifest = project / "agentcore" / "agentcore.json"
    text = manifest.read_text()
    assert '"runtimeVersion": "PYTHON_3_13"' in text
    manifest.write_text(text.replace("PYTHON_3_13", "PYTHON_" + version.replace(".", "_")))
    return project


def package(cli: str, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`scripts/agentcore package -d PROJECT` with the real CLI."""
    return subprocess.run(
        [str(REPO / "scripts" / "agentcore"), "package", "-d", str(project)],
        capture_output=True,
        text=True,
        timeout=PACKAGE_TIMEOUT_SECONDS,
        env={**os.environ, "AGENTCORE_CLI": cli, "AGENTCORE_TELEMETRY_DISABLED": "1", **env},
    )


def no_fetch_env(root: Path) -> dict[str, str]:
    """For uv: look for interpreters (PATH, an empty managed folder), never download one."""
    return {"UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON_INSTALL_DIR": str(root / "no-managed-pythons")}


def unfindable_version(env: dict[str, str]) -> str:
    """A runtime version no interpreter here has, as `uv python find` sees it with ``env``."""
    uv = shutil.which("uv")
    assert uv, "uv must be on PATH (scripts/test.sh puts it there)"
    for version in RUNTIME_VERSIONS:
        found = subprocess.run(
            [uv, "python", "find", "--no-project", version],
            capture_output=True,
            timeout=60,
            env={**os.environ, **env},
            check=False,
        )
        if version != MACHINE and found.returncode != 0:
            return version
    missing(f"every Python of {RUNTIME_VERSIONS} is here; none is left to show a bundle without one")


def test_package_for_the_machines_python_ships_checked_hash_bytecode_for_every_module(
    cli: str, tmp_path: Path
) -> None:
    project = project_copy(tmp_path, MACHINE)
    result = package(cli, project, no_fetch_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    tag = sys.implementation.cache_tag
    assert f"checked-hash .pyc files ({tag}" in result.stderr, result.stderr[-2000:]

    with zipfile.ZipFile(project / "agentcore" / "CustomerSupport.zip") as zf:
        names = set(zf.namelist())
        sources = sorted(n for n in names if n.endswith(".py"))
        bytecode = sorted(n for n in names if n.endswith(".pyc"))
        assert len(sources) > 1000 and "main.py" in sources
        assert [s for s in sources if importlib.util.cache_from_source(s) not in names] == []
        assert all(n.endswith(f".{tag}.pyc") for n in bytecode), bytecode[:5]
        for name in bytecode:
            header = zf.read(name)[:16]
            source = name.replace("__pycache__/", "").replace(f".{tag}.pyc", ".py")
            assert header[:4] == importlib.util.MAGIC_NUMBER, name
            assert int.from_bytes(header[4:8], "little") == CHECKED_HASH, name
            # Valid for the shipped source, whatever mtime unpacking gives it.
            assert header[8:16] == importlib.util.source_hash(zf.read(source)), name


def test_package_for_a_python_uv_cannot_find_ships_no_bytecode_and_says_so(cli: str, tmp_path: Path) -> None:
    env = no_fetch_env(tmp_path)
    version = unfindable_version(env)
    project = project_copy(tmp_path, version)
    result = package(cli, project, env)
    assert result.returncode == 0, result.stderr[-3000:]
    said = [line for line in result.stderr.splitlines() if "ships no bytecode" in line]
    assert len(said) == 1 and f"no Python {version} interpreter found" in said[0], result.stderr[-2000:]
    with zipfile.ZipFile(project / "agentcore" / "CustomerSupport.zip") as zf:
        names = zf.namelist()
    assert "main.py" in names
    assert [n for n in names if n.endswith(".pyc") or "__pycache__" in n] == []


def fake_v0_cli(directory: Path) -> Path:
    """A stand-in for the npm CLI v0 that records its arguments (the wrapper is under test)."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "agentcore"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{directory}/calls"\n'
        'case "$1" in --version) echo 0.30.0 ;; *) echo "  validate  Validate the project" ;; esac\n'
    )
    script.chmod(0o755)
    return script


def test_deploy_says_in_one_line_that_it_ships_no_bytecode(tmp_path: Path) -> None:
    fake = fake_v0_cli(tmp_path / "bin")
    result = subprocess.run(
        [str(REPO / "scripts" / "agentcore"), "deploy", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AGENTCORE_CLI": str(fake)},
    )
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if "bytecode" in line]
    assert len(said) == 1 and "deployed bundle carries no bytecode" in said[0], result.stderr
    assert (fake.parent / "calls").read_text().splitlines()[-1] == "deploy --dry-run"


def test_package_help_touches_no_bundle(tmp_path: Path) -> None:
    fake = fake_v0_cli(tmp_path / "bin")
    project = project_copy(tmp_path, MACHINE)
    stale = project / "agentcore" / "CustomerSupport.zip"
    stale.write_bytes(b"not a zip: the wrapper must not open it")
    result = subprocess.run(
        [str(REPO / "scripts" / "agentcore"), "package", "-d", str(project), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AGENTCORE_CLI": str(fake)},
    )
    assert result.returncode == 0 and "bytecode" not in result.stderr, result.stderr
    assert stale.read_bytes() == b"not a zip: the wrapper must not open it"
