"""The log scanner that fails the session when a token or secret shows up in captured logs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.localdev.paths import REPO
from tests.support.leaks import find_leaks

JWT_LIKE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdWItYWxpY2UiLCJjbGllbnRfaWQiOiJ4In0.c2lnbmF0dXJlLXNlZ21lbnQtdmFsdWU"


def test_detects_whole_and_partial_tokens_and_secrets() -> None:
    sensitive = {TOKEN, "machine-secret-value"}
    assert find_leaks(f"Authorization: Bearer {TOKEN}", sensitive)
    assert find_leaks("sig=" + TOKEN.split(".")[2], sensitive)
    assert find_leaks("secret is machine-secret-value", sensitive)
    assert find_leaks("nothing sensitive here, only eyJhbGciOiJSUzI1NiJ9", sensitive) == []


def test_labels_never_repeat_any_part_of_the_value() -> None:
    secret = "Zq9-secret-value-123"
    assert find_leaks(TOKEN, {TOKEN}) == [f"a {len(TOKEN)}-character token"]
    [label] = find_leaks(f"oops {secret}", {secret})
    assert label == f"a {len(secret)}-character secret" and secret[:3] not in label


INNER_TEST = """
import json, logging, os, subprocess, sys, time
from pathlib import Path

import httpx
import pytest

REPO = Path(os.environ["LEAK_TEST_REPO"])


@pytest.mark.integration
def test_issuer_subprocess(tmp_path):
    config = tmp_path / "issuer.json"
    config.write_text(json.dumps({"clients": [
        {"client_id": "c", "client_secret": "inner-secret-value-123", "allowed_scopes": ["s/x"]}]}))
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen([sys.executable, "-m", "scripts.localdev.issuer", "--config", str(config),
                             "--ready-file", str(ready)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        urls = json.loads(ready.read_text())
        form = {"grant_type": "client_credentials", "scope": "s/x"}
        reply = httpx.post(urls["token_url"], auth=("c", "inner-secret-value-123"), data=form, timeout=10)
        token = reply.json()["access_token"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if os.environ.get("LEAK_TEST_LEAK") == "1":
        logging.getLogger("inner").warning("calling with %s", token)
    assert token.count(".") == 2
"""


@pytest.mark.parametrize("leak", [True, False])
def test_scan_fails_a_run_that_logs_a_subprocess_token(leak: bool, tmp_path: Path) -> None:
    """An inner pytest run with this project's conftest: an issuer subprocess mints the token."""
    inner = tmp_path / "test_inner.py"
    inner.write_text(INNER_TEST)
    env = {**os.environ, "LEAK_TEST_REPO": str(REPO), "LEAK_TEST_LEAK": "1" if leak else "0"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO)]
        + ["-p", "tests.conftest", "-q", "-p", "no:cacheprovider", str(inner)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    # Failure messages show the inner run's tail with any JWT masked: the planted leak never reaches
    # this run's report, even when the inner test fails and pytest prints its captured log.
    shown = JWT_LIKE.sub("<token>", output)[-3000:]
    if leak:
        assert result.returncode == 1, shown
        assert "SECRETS IN LOGS" in output and "-character token" in output
        assert "1 passed" in output  # the test itself passed: the scan failed the run
    else:
        assert result.returncode == 0, shown
        assert "SECRETS IN LOGS" not in output
    assert "inner-secret-value-123" not in output
