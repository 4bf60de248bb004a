"""Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.requirements import missing

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WAIT_MS = 20_000  # every wait on the page is bounded: sign-in, an answer, a notice


def chromium_or_skip() -> None:
    """Skip without Chromium on a developer's machine; under CI a missing browser is a failure."""
    if not Path(CHROMIUM).exists():
        missing(f"Chromium is missing at {CHROMIUM}: run scripts/test.sh or apt-get install chromium")
