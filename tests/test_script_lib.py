"""scripts/lib.sh's process cleanup, driven through bash as the scripts use it.

The race it closes: Ctrl-C can land after `setsid cmd &` started a child but before the script
recorded `$!`. The rehearsal's CI run once left a deploy step running that way. Here the script
never records the pid at all, which is that window held open.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import REPO, alive, wait_until
from tests.support.scripts import interruptible

SCRIPT = """
source scripts/lib.sh
cleanup() { trap - EXIT INT TERM; stop_background_jobs; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A step in its own process group, with a grandchild that ignores nothing; its pid goes unrecorded.
setsid bash -c 'sleep 300 & echo $! >"$1/grandchild"; echo $$ >"$1/child"; wait' _ "$1" </dev/null &
wait
"""


@pytest.mark.parametrize("signal_to_send", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_unrecorded_background_group_is_stopped_on_exit(tmp_path: Path, signal_to_send: int) -> None:
    proc = subprocess.Popen(
        ["bash", "-c", SCRIPT, "bash", str(tmp_path)],
        cwd=REPO,
        start_new_session=True,
        preexec_fn=interruptible,
        text=True,
    )
    try:
        assert wait_until(lambda: (tmp_path / "grandchild").exists() and (tmp_path / "child").exists())
        child = int((tmp_path / "child").read_text())
        grandchild = int((tmp_path / "grandchild").read_text())
        assert alive(child) and alive(grandchild)
        os.kill(proc.pid, signal_to_send)  # the script alone: its child is in its own group
        returncode = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    assert returncode == (130 if signal_to_send == signal.SIGINT else 143)
    assert wait_until(lambda: not alive(child) and not alive(grandchild), timeout=2)
