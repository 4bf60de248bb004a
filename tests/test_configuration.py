"""Configuration is declared once: every variable the agent reads is documented, bad values are named.

docs/configuration.md carries the table rendered from the declarations (settings.ENV_VARS); a
variable read anywhere in the agent's code must be listed there; relative links in docs/*.md must
resolve; a value that does not parse stops start-up naming the variable and the expected form.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from settings import ENV_VARS, ConfigError, configuration_table, load_server_settings, load_settings
from tests.support.processes import REPO

DOCS = REPO / "docs"
CONFIG_DOC = DOCS / "configuration.md"
AGENT_CODE = REPO / "app" / "CustomerSupport"
_BLOCK = re.compile(r"<!-- BEGIN variables[^>]*-->\n(.*?)<!-- END variables -->", re.DOTALL)
# Reads of a literal name: os.environ["X"], os.environ.get("X"), os.getenv("X"), env.get("X"),
# env["X"], a Var("X", ...) declaration, or a module constant NAME_ENV = "X".
_READS = re.compile(
    r"""(?:environ\s*\[|environ\.get\(|getenv\(|\benv\.get\(|\benv\s*\[|\bVar\(|_ENV\s*=)\s*["']([A-Z][A-Z0-9_]+)["']"""
)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def agent_env_reads() -> set[str]:
    names: set[str] = set()
    for path in AGENT_CODE.rglob("*.py"):
        if ".venv" in path.parts:
            continue
        names.update(_READS.findall(path.read_text()))
    return names


def documented() -> set[str]:
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", CONFIG_DOC.read_text(), re.MULTILINE))


def test_the_docs_table_is_the_one_the_declarations_render() -> None:
    found = _BLOCK.search(CONFIG_DOC.read_text())
    assert found, "docs/configuration.md lost its generated variables block"
    assert found.group(1) == configuration_table(), (
        "docs/configuration.md is out of date; its variables block must be configuration_table():\n"
        + configuration_table()
    )


def test_every_variable_the_agent_reads_is_declared_and_documented() -> None:
    reads = agent_env_reads()
    declared = {var.name for var in ENV_VARS}
    assert {"GATEWAY_TIMEOUT_SECONDS", "AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL", "AUTH_MODE"} <= reads
    assert reads <= declared, f"read but not declared in settings.ENV_VARS: {sorted(reads - declared)}"
    missing = (reads | declared) - documented()
    assert not missing, f"not listed in docs/configuration.md: {sorted(missing)}"


def test_the_scan_sees_a_direct_read(tmp_path: Path) -> None:
    """The scanner must catch the ways code reads a variable, or the check above proves nothing."""
    sample = 'import os\na = os.environ.get("NEW_A")\nb = os.getenv( "NEW_B")\nc = env["NEW_C"]\n'
    assert set(_READS.findall(sample)) == {"NEW_A", "NEW_B", "NEW_C"}


def test_relative_links_in_docs_resolve() -> None:
    # The manual, the landing page and scripts/README.md: each page its own base for relative links.
    pages = sorted(DOCS.glob("*.md")) + [REPO / "README.md", REPO / "scripts" / "README.md"]
    assert CONFIG_DOC in pages
    broken = []
    for page in pages:
        for target in _LINK.findall(page.read_text()):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # absolute URLs (https:, mailto:) and anchors in the same page
            path = target.split("#", 1)[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, broken


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("GATEWAY_TIMEOUT_SECONDS", "abc", "expected a number of seconds greater than 0, got 'abc'"),
        ("GATEWAY_TIMEOUT_SECONDS", "0", "expected a number of seconds greater than 0, got '0'"),
        ("GATEWAY_RETRY_SECONDS", "-1", "expected a number of seconds (0 or more), got '-1'"),
        ("WEB_SEARCH_TIMEOUT_SECONDS", "nan", "expected a number of seconds greater than 0, got 'nan'"),
        ("SESSION_CACHE_SIZE", "1.5", "expected a whole number greater than 0, got '1.5'"),
        ("MAX_CONCURRENT_INVOCATIONS", "0", "expected a whole number greater than 0, got '0'"),
        ("MODEL_PROVIDER", "openai", "expected one of bedrock, offline, got 'openai'"),
        ("AUTH_MODE", "lax", "expected one of enforce, trust-runtime, off, got 'lax'"),
        ("AUTH_LEEWAY_SECONDS", "1m", "expected a whole number of seconds (0 or more), got '1m'"),
        ("WEB_SEARCH_MCP_URL", "file:///etc/passwd", "expected an http(s) URL, got 'file:///etc/passwd'"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_expected_form(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"AUTH_MODE": "off", name: value})
    assert str(raised.value) == f"{name}: {expected}"


def test_a_bad_port_is_named_too() -> None:
    with pytest.raises(ConfigError, match=r"^PORT: expected a TCP port number \(1-65535\), got '70000'$"):
        load_server_settings({"PORT": "70000"})


def test_a_secret_value_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"AUTH_MODE": "off", "TRACE_USER_ID_KEY": "short-secret-value"})
    assert "TRACE_USER_ID_KEY" in str(raised.value) and "short-secret-value" not in str(raised.value)


def test_blank_means_the_default_and_defaults_are_the_declared_ones() -> None:
    settings = load_settings(
        {"AUTH_MODE": "off", "GATEWAY_TIMEOUT_SECONDS": "  ", "MODEL_PROVIDER": "offline"}
    )
    declared = {var.field: var.default for var in ENV_VARS if var.field}
    assert settings.gateway_timeout_seconds == declared["gateway_timeout_seconds"] == 15.0
    gateway, web_search = settings.hops()
    assert gateway.limits.timeout_seconds == 15.0 and web_search.limits.timeout_seconds == 10.0


@pytest.mark.integration
def test_main_exits_2_naming_the_variable() -> None:
    done = subprocess.run(
        [sys.executable, "main.py"],
        cwd=AGENT_CODE,
        env={"PATH": "/usr/bin:/bin", "GATEWAY_TIMEOUT_SECONDS": "abc"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "GATEWAY_TIMEOUT_SECONDS: expected a number of seconds greater than 0, got 'abc'" in done.stderr
    assert "Traceback" not in done.stderr
