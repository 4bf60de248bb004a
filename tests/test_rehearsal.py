"""scripts/localdev/rehearse-aws.sh end to end: the real script, moto, the local issuer and the agentcore CLI.

The successful run is traced with strace (every connect/sendto/sendmsg of every process it starts)
to show that nothing but 127.0.0.1 is contacted, although the environment it is given points AWS,
Cognito and proxies at a non-local address. While it runs, a watcher records every process it starts
and, once the test knows the machine client's secret (read from the script's own moto after step 1),
scans every process's command line for it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.aws import REPO, boto_client
from tests.support.cli import find_agentcore_cli
from tests.support.processes import alive, process_stat
from tests.support.requirements import missing
from tests.support.scripts import interruptible

SCRIPT = REPO / "scripts" / "localdev" / "rehearse-aws.sh"
WORK = REPO / ".local" / "rehearsal"
MANIFEST = REPO / "agentcore" / "agentcore.json"
PREFIX = "/app/customersupport/agentcore/"
STEP_LINES = (
    "[1/4] deploy-prerequisites: OK",
    "[2/4] configure: OK",
    "[3/4] agentcore validate: OK",
    "[4/4] fetch-token: OK",
)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
URL_PORT = re.compile(r"http://127\.0\.0\.1:(\d+)")
# Where the environment handed to the script points: a non-local address (TEST-NET-1, RFC 5737).
ELSEWHERE = "http://192.0.2.1:9"
RUN_TIMEOUT_S = 240


# -- watching the processes the script starts ----------------------------------------------------
def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _cmdline(pid: int) -> str:
    """A process's command line, for failure messages (the secrets never reach argv: tested)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "?"


class Watcher(threading.Thread):
    """Samples the descendants of `root` and scans command lines for `secrets` until stopped."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.seen: dict[int, str] = {}  # pid -> start time
        self.secrets: list[str] = []
        self.cmdline_hits: list[int] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Sample every 50 ms until stop()."""
        while not self._stop_event.is_set():
            parents: dict[int, int] = {}
            starts: dict[int, str] = {}
            for pid in _all_pids():
                stat = process_stat(pid)
                if stat:
                    parents[pid], starts[pid] = stat[0], stat[2]
            family = {self.root}
            grew = True
            while grew:
                grown = {pid for pid, parent in parents.items() if parent in family} | family
                grew, family = len(grown) > len(family), grown
            for pid in family - {self.root}:
                self.seen.setdefault(pid, starts.get(pid, ""))
            for secret in list(self.secrets):
                for pid in parents:
                    with contextlib.suppress(OSError):
                        if secret.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                            self.cmdline_hits.append(pid)
            self._stop_event.wait(0.05)

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop_event.set()
        self.join(timeout=10)

    def still_running(self, grace_s: float = 5.0) -> list[int]:
        """Pids seen during the run that are still alive after a short grace for reaping."""
        deadline = time.monotonic() + grace_s
        while True:
            left = [pid for pid, start in self.seen.items() if start and alive(pid, start)]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)


# -- running the script --------------------------------------------------------------------------
@dataclass
class Run:
    """What one run of the script printed and started, and the secret the test learnt from its moto."""

    returncode: int
    lines: list[str]
    watcher: Watcher
    secret: str = ""
    client_id: str = ""
    ports: list[int] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything printed (stdout and stderr), one string."""
        return "\n".join(self.lines)


def script_env(cli: str) -> dict[str, str]:
    """The caller's environment, pointing AWS, Cognito and proxies elsewhere: the script must ignore it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COGNITO_"))}
    env.update(
        AGENTCORE_CLI=cli,
        AWS_ENDPOINT_URL=ELSEWHERE,
        AWS_PROFILE="someone-elses-profile",
        AWS_ACCESS_KEY_ID="AKIAREALLOOKINGKEY00",
        COGNITO_TOKEN_URL=f"{ELSEWHERE}/oauth2/token",
        HTTPS_PROXY=ELSEWHERE,
        https_proxy=ELSEWHERE,
        HTTP_PROXY=ELSEWHERE,
        http_proxy=ELSEWHERE,
    )
    return env


def machine_client(moto_url: str) -> tuple[str, str]:
    """(client id, secret) of the machine client the script's deployment created in its moto."""
    names = [f"{PREFIX}pool_id", f"{PREFIX}client_id"]
    params = boto_client("ssm", moto_url).get_parameters(Names=names)["Parameters"]
    values = {p["Name"].removeprefix(PREFIX): p["Value"] for p in params}
    described = boto_client("cognito-idp", moto_url).describe_user_pool_client(
        UserPoolId=values["pool_id"], ClientId=values["client_id"]
    )["UserPoolClient"]
    return values["client_id"], described["ClientSecret"]


def rehearse(
    env: dict[str, str],
    *,
    prefix: list[str] | None = None,
    interrupt_on: str | None = None,
    learn_secret: bool = False,
) -> Run:
    """Run the script (under `prefix`, e.g. strace), reading its output line by line.

    With `learn_secret`, the machine client's secret is read from the script's moto after step 1
    (steps 2-4 take seconds, moto runs until the end); `interrupt_on` sends
    SIGINT to the script's process group (what Ctrl-C in a terminal does) when a line starts with it.
    """
    proc = subprocess.Popen(
        [*(prefix or []), "bash", str(SCRIPT)],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    watcher = Watcher(proc.pid)
    watcher.start()
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    run = Run(returncode=-1, lines=[], watcher=watcher)
    moto_url = ""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        while (line := lines.get(timeout=max(deadline - time.monotonic(), 0.1))) is not None:
            run.lines.append(line)
            run.ports += [int(p) for p in URL_PORT.findall(line)]
            if line.startswith("AWS emulator") and (found := URL_PORT.search(line)):
                moto_url = found.group(0)
            if learn_secret and line.startswith(STEP_LINES[0]):
                run.client_id, run.secret = machine_client(moto_url)
                watcher.secrets.append(run.secret)
            if interrupt_on and line.startswith(interrupt_on):
                os.killpg(proc.pid, signal.SIGINT)
        run.returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        watcher.stop()
    return run


def port_closed(port: int) -> bool:
    """Whether nothing accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


# -- the successful run, traced ----------------------------------------------------------------
TRACED_CALLS = ["-e", "trace=connect,sendto,sendmsg"]


def strace_command() -> list[str] | None:
    """The strace command and flags, or None where it cannot trace a child (ptrace forbidden).

    --seccomp-bpf stops the traced processes only at the traced calls (the module's setup takes
    ~16 s instead of ~70 s); it is dropped where the kernel refuses the filter.
    """
    exe = shutil.which("strace")
    if not exe:
        return None
    for flags in (["--seccomp-bpf"], []):
        command = [exe, "-f", *flags, "-qq", *TRACED_CALLS]
        probe = subprocess.run([*command, "-o", os.devnull, "true"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return command
    return None


@dataclass
class Traced:
    """The successful run, the repository manifest around it, and its strace output."""

    run: Run
    manifest_before: bytes
    manifest_after: bytes
    trace: str | None  # None: strace is not available here


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Traced:
    """One successful run for the module, under strace when it works here."""
    cli = find_agentcore_cli()
    before = MANIFEST.read_bytes()
    trace_file = tmp_path_factory.mktemp("strace") / "trace.txt"
    strace = strace_command()
    prefix = [*strace, "-o", str(trace_file)] if strace else None
    run = rehearse(script_env(cli), prefix=prefix, learn_secret=True)
    trace = trace_file.read_text(errors="replace") if prefix else None
    return Traced(run, before, MANIFEST.read_bytes(), trace)


def test_each_step_reports_ok_and_the_run_completes(traced: Traced) -> None:
    run = traced.run
    assert run.returncode == 0, run.output
    at = [next(i for i, line in enumerate(run.lines) if line.startswith(step)) for step in STEP_LINES]
    assert at == sorted(at), run.output
    assert run.lines[-2].startswith("Rehearsal complete in "), run.output
    assert not [line for line in run.lines if "FAILED" in line or "error" in line.lower()], run.output
    token_line = run.lines[at[3]]
    assert re.search(r"access token of [1-9]\d+ characters \(not shown\)", token_line), token_line
    assert (
        "signature verified" in token_line and "client_id is in the configured allowedClients" in token_line
    )


def test_the_repository_manifest_is_untouched_and_the_copy_is_configured(traced: Traced) -> None:
    assert traced.manifest_after == traced.manifest_before
    configured = (WORK / "project" / "agentcore" / "agentcore.json").read_text()
    assert traced.run.client_id and f'"{traced.run.client_id}"' in configured
    assert traced.run.client_id.encode() not in traced.manifest_after


def test_no_secret_or_token_in_output_logs_or_command_lines(traced: Traced) -> None:
    run = traced.run
    assert len(run.secret) >= 20, "the test could not read the machine client's secret from moto"
    assert run.secret not in run.output
    assert not JWT.search(run.output)
    files = [p for p in WORK.rglob("*") if p.is_file()]
    assert any(p.name == "fetch-token.log" for p in files)
    for path in files:
        text = path.read_text(errors="replace")
        assert run.secret not in text, path
        assert not JWT.search(text), path
    assert not list(WORK.glob("secrets.*")), "the private files must be deleted on exit"
    assert run.watcher.cmdline_hits == [], "a process had the client secret on its command line"


def test_every_process_it_started_is_gone(traced: Traced) -> None:
    run = traced.run
    assert len(run.watcher.seen) >= 5, "the watcher saw too few processes to be trusted"
    assert run.watcher.still_running() == []
    assert len(set(run.ports)) == 2, run.output  # moto and the issuer
    assert all(port_closed(port) for port in set(run.ports))


def test_nothing_but_loopback_is_contacted(traced: Traced) -> None:
    if traced.trace is None:
        missing("strace is not available: the network check needs it (apt-get install strace)")
    addresses = re.findall(r"sa_family=(AF_[A-Z0-9]+)([^}]*)", traced.trace)
    assert addresses, "strace recorded no connection at all"
    elsewhere = []
    for family, rest in addresses:
        if family in ("AF_UNIX", "AF_NETLINK", "AF_UNSPEC"):
            continue
        found = re.search(r'inet_(?:addr|pton)\((?:AF_INET6, )?"([^"]+)"', rest)
        if (
            family not in ("AF_INET", "AF_INET6")
            or not found
            or not ipaddress.ip_address(found[1]).is_loopback
        ):
            elsewhere.append(f"{family}{rest}")
    assert elsewhere == []
    moto_port = traced.run.ports[0]
    assert f"htons({moto_port})" in traced.trace  # the trace did see the traffic to moto


# -- Ctrl-C, a failing step, bad usage ---------------------------------------------------------------
def test_ctrl_c_stops_everything_it_started() -> None:
    run = rehearse(script_env(find_agentcore_cli()), interrupt_on="AWS emulator")
    assert run.returncode == 130, run.output
    assert "interrupted" in run.output
    assert "Rehearsal complete" not in run.output
    left = run.watcher.still_running()
    assert left == [], [_cmdline(pid) for pid in left]
    assert run.ports and port_closed(run.ports[0])


def test_a_failing_step_is_named_with_its_log(tmp_path: Path) -> None:
    fake_cli = tmp_path / "agentcore"
    fake_cli.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        '  --help) echo "Commands:"; echo "  validate   Validate the project" ;;\n'
        "  --version) echo 0.30.0 ;;\n"
        '  validate) echo "Error: failure staged by test_rehearsal" >&2; exit 1 ;;\n'
        "esac\n"
    )
    fake_cli.chmod(0o755)
    before = MANIFEST.read_bytes()
    run = rehearse(script_env(str(fake_cli)))
    assert run.returncode == 1, run.output
    log = ".local/rehearsal/logs/agentcore-validate.log"
    assert f"[3/4] agentcore validate: FAILED (exit status 1); log: {log}" in run.lines, run.output
    assert "    Error: failure staged by test_rehearsal" in run.lines
    assert run.lines[-1] == f"Rehearsal failed at step 3 (agentcore validate); see {log}"
    assert not any(line.startswith(STEP_LINES[3]) for line in run.lines)
    assert MANIFEST.read_bytes() == before
    assert run.watcher.still_running() == []
    assert all(port_closed(port) for port in run.ports)


def test_help_and_an_unknown_option() -> None:
    shown = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0
    assert "usage: scripts/localdev/rehearse-aws.sh" in shown.stdout
    wrong = subprocess.run(["bash", str(SCRIPT), "--deploy"], capture_output=True, text=True, timeout=30)
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == "unknown argument: --deploy (see scripts/localdev/rehearse-aws.sh --help)"
    assert wrong.stdout == ""
