"""The web chat's own JavaScript tests (node --test): the SSE reader, and the 429 notices."""

from __future__ import annotations

import re
import shutil
import subprocess

from tests.support.processes import REPO


def test_node_tests_of_the_web_chat_pass() -> None:
    node = shutil.which("node")
    assert node, "Node.js 20+ is required (it also builds the web chat)"
    result = subprocess.run(
        [node, "--test", "test/"],
        cwd=REPO / "app" / "WebChat",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 9, result.stdout[-2000:]
    assert re.search(r"^# fail 0$", result.stdout, re.MULTILINE)
