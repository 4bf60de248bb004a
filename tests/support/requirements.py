"""What a test does when a tool it needs (the CLI, Chromium, strace) is missing."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(message: str) -> NoReturn:
    """Skip on a developer's machine; fail under CI=true, where nothing may skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
