"""Test layers: ``unit``, ``integration`` and ``e2e`` markers, assigned and enforced.

- ``e2e``: the real CLI, CDK synthesis, the demo, the browser, whole scripts.
- ``integration``: local servers (issuer, gateway, agent processes, moto), or other processes.

A test's layer is, in order: its own marker (``@pytest.mark.e2e``), the entry for its module or
test in ``LAYER_OF`` (one table, so the layering reads in one place), or ``integration`` when it
uses one of the fixtures in ``SERVER_FIXTURES``.
- ``unit``: everything else. A unit test may not start a subprocess or open a network socket
  (in-process ASGI through httpx's ASGITransport is fine): the guard below makes it fail if it
  tries, so a test cannot sit in the fast layer by mistake.

Select a layer with ``-m unit`` (or ``integration``, ``e2e``); ``scripts/test.sh`` runs all.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

LAYERS = ("unit", "integration", "e2e")
# Fixtures that start servers: a test using one is at least an integration test.
SERVER_FIXTURES = frozenset(
    {
        "issuer",
        "gateway",
        "moto_server",
        "aws_env",
        "agent_factory",
        "shared_agent",
        "agent",
        "make_agent",
        "enforcing",
        "moto_url",
        "deployed",
        "world",
        "local_memory",
        "open_issuer",
        "front",
        "frontdoor",
        "upstream",
        "apigw",
        "idp",
        "start_issuer",
        "memory_api",
        "local_memory_api",
        "web_search",
        "orders_table",
    }
)


# Keys: a module's file name, or "file::test" for one test (parametrized ids included).
LAYER_OF = {
    "test_cli.py": "e2e",
    "test_cdk_synth.py": "e2e",
    "test_configure.py": "e2e",
    "test_container_contract.py": "e2e",
    "test_demo.py": "e2e",
    "test_rehearsal.py": "e2e",
    "test_webchat_browser.py": "e2e",
    "test_webchat_command.py": "e2e",
    "test_fetch_token.py": "integration",
    "test_frontdoor_stack.py": "integration",
    "test_prerequisites.py": "integration",
    "test_project_layout.py": "integration",
    "test_script_lib.py": "integration",
    "test_webchat_js.py": "integration",
    "test_issuer.py::test_issuer_runs_as_a_process_from_a_config_file": "integration",
    "test_leak_detector.py::test_scan_fails_a_run_that_logs_a_subprocess_token": "integration",
    "test_manifest.py::test_cli_check": "integration",
    "test_manifest.py::test_cli_configure": "integration",
    "test_manifest.py::test_cli_configure_takes_the_edge_values": "integration",
    "test_webfront.py::test_unreachable_agent_is_a_502_and_the_front_stays_up": "integration",
}


def layer_of(item: pytest.Item) -> str:
    """The item's layer: its own marker, else the table, else implied by its fixtures."""
    explicit = [mark.name for mark in item.iter_markers() if mark.name in LAYERS]
    if explicit:
        return explicit[0]
    module = item.path.name
    test = item.name.split("[", 1)[0]
    for key in (f"{module}::{test}", module):
        if key in LAYER_OF:
            return LAYER_OF[key]
    fixtures = set(getattr(item, "fixturenames", ()))
    return "integration" if fixtures & SERVER_FIXTURES else "unit"


def pytest_configure(config: pytest.Config) -> None:
    """Register the layer markers (``--strict-markers`` is on)."""
    config.addinivalue_line("markers", "unit: no subprocess, no network socket (runs in seconds)")
    config.addinivalue_line("markers", "integration: local servers over real HTTP (issuer, gateway, moto)")
    config.addinivalue_line("markers", "e2e: the real agentcore CLI, CDK synth, demo, browser, whole scripts")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test exactly one layer marker, so ``-m`` selects layers."""
    for item in items:
        layer = layer_of(item)
        if not item.get_closest_marker(layer):
            item.add_marker(layer)


class UnitIsolationError(AssertionError):
    """A unit test reached for a subprocess or the network."""


def _refuse(what: str) -> Any:
    def refuse(*_: Any, **__: Any) -> Any:
        raise UnitIsolationError(f"unit tests may not {what}; mark the test integration or e2e")

    return refuse


@pytest.fixture(autouse=True)
def _unit_isolation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In the unit layer, starting a process or opening a network connection fails the test."""
    if layer_of(request.node) == "unit":
        monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start a subprocess"))
        for name in ("connect", "connect_ex", "bind"):
            monkeypatch.setattr(socket.socket, name, _refuse(f"use a network socket ({name})"))
    yield
