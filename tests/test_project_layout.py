"""The project's shape: dependency lists in step, data apart from code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.processes import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def requirement_names(pyproject: Path) -> set[str]:
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return {re.split(r"[\s<>=!~;\[]", dep.strip(), maxsplit=1)[0].lower() for dep in deps}


def test_dev_project_installs_everything_the_deployed_agent_needs() -> None:
    agent = requirement_names(REPO / "app" / "CustomerSupport" / "pyproject.toml")
    dev = requirement_names(REPO / "pyproject.toml")
    assert agent, "the agent declares no dependencies"
    assert agent <= dev, f"add to the root pyproject.toml: {sorted(agent - dev)}"


def test_top_level_layout() -> None:
    expected = {
        "agentcore",
        "app",
        "tool_schemas",
        "scripts",
        "tests",
        "pyproject.toml",
        "uv.lock",
        "README.md",
        ".ci",
    }
    assert expected <= {p.name for p in REPO.iterdir()}
    assert (REPO / "app" / "CustomerSupport" / "main.py").is_file()


def test_importing_the_entrypoint_opens_no_connection_and_builds_no_service() -> None:
    code = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('network I/O at import time')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import main\n"
        "assert main._service is None and main._settings is None\n"
        "print('clean import')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO / "app" / "CustomerSupport",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "clean import"


def test_bundle_pins_match_the_lock() -> None:
    from scripts.deploy import bundle_pins

    assert bundle_pins.main(["--check"]) == 0, (
        "run `uv run python -m scripts.deploy.bundle_pins` and `uv lock`"
    )


def test_agentcore_package_would_install_exactly_the_locked_versions(tmp_path: Path) -> None:
    """The very install `agentcore package` runs (from the project root, for the runtime's platform)."""
    from scripts.deploy import bundle_pins

    pins: dict[str, set[str]] = {}
    for pin in bundle_pins.locked_pins():
        name, _, rest = pin.partition("==")
        pins.setdefault(name.lower(), set()).add(rest.split(";")[0].strip())
    result = subprocess.run(
        ["uv", "pip", "install", "-r", "app/CustomerSupport/pyproject.toml", "--target", str(tmp_path / "t")]
        + ["--python-version", "3.13", "--python-platform", "aarch64-manylinux2014", "--only-binary", ":all:"]
        + ["--dry-run"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    planned = dict(
        re.findall(r"^ \+ ([A-Za-z0-9_.\-]+)==(\S+)$", result.stderr + result.stdout, re.MULTILINE)
    )
    assert len(planned) > 50, result.stderr[-2000:]
    for name, version in planned.items():
        assert version in pins.get(name.lower(), set()), f"{name}=={version} is not the locked version"
