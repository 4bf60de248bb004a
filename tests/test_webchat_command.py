"""scripts/localdev/webchat.sh end to end: the one command, a real sign-in and chat in Chromium, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

from playwright.sync_api import expect, sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, chromium_or_skip
from tests.support.processes import REPO
from tests.support.scripts import (
    ANSI,
    all_stopped,
    git_status,
    leftover_processes,
    ports_in,
    start_script,
)

WEBCHAT = REPO / "scripts" / "localdev" / "webchat.sh"
USERS_FILE = REPO / ".local" / "webchat" / "demo-users.txt"


def test_help_prints_usage() -> None:
    result = subprocess.run(["bash", str(WEBCHAT), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert (
        result.stdout.startswith("The web chat on this machine")
        and "usage: scripts/localdev/webchat.sh" in result.stdout
    )
    bad = subprocess.run(["bash", str(WEBCHAT), "--port", "x"], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "--port must be" in bad.stderr


def test_one_command_serves_a_working_chat_and_ctrl_c_stops_it() -> None:
    chromium_or_skip()
    assert leftover_processes() == [], "another demo or dev stack of this checkout is running"
    before = git_status()
    proc = start_script(WEBCHAT)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 600
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(ANSI.sub("", line))
            if "Press Ctrl-C" in line or time.monotonic() > deadline:
                break
        transcript = "".join(lines)
        assert "Press Ctrl-C" in transcript, transcript[-3000:]
        url = re.search(r"Web chat: (http://127\.0\.0\.1:\d+/)", transcript)
        users = [line.split(" ") for line in USERS_FILE.read_text().splitlines()]
        assert url and len(users) >= 2, "no URL or demo users"
        assert USERS_FILE.stat().st_mode & 0o777 == 0o600
        names = re.search(r"Sign in as one of the demo users: (.+)", transcript)
        assert names and names.group(1).split() == [user[0] for user in users]
        assert not [user for user in users if user[1] in transcript], "a password was printed"
        name, password = users[0]

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(url.group(1))
            page.get_by_role("button", name="Sign in").click()
            page.get_by_label("Username").fill(name)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text(f"Signed in as {name}")).to_be_visible(timeout=WAIT_MS)
            page.get_by_label("Message").fill("What's the return policy for accessories?")
            page.get_by_role("button", name="Send").click()
            answer = page.locator("#transcript li.assistant").first
            expect(answer).to_contain_text("14 days", timeout=WAIT_MS)
            browser.close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
        rest = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0
    assert "web chat stopped" in rest
    assert not USERS_FILE.exists(), "the passwords file must be deleted on exit"
    assert all_stopped(ports_in("".join(lines))), leftover_processes()
    assert git_status() == before, "the command wrote outside ignored paths"
