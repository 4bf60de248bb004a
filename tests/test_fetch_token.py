"""scripts/deploy/fetch-token.sh against a real moto server, the local issuer and misbehaving endpoints.

Everything runs as real processes: the script itself, the aws CLI from the venv, curl, and jq or
python3 for JSON. moto provides SSM and the Cognito user pool (clients, secrets, users); the local
issuer (which knows the moto machine client's id and secret) provides the /oauth2/token endpoint
moto lacks. A spy around the issuer scans every process's command line for secrets while requests
are being served, i.e. while the script and its children are running.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest

from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.pool import Client, IssuerConfig, User
from scripts.localdev.serving import BackgroundServer
from tests.support.processes import REPO, VENV_BIN, free_port

SCRIPT = REPO / "scripts" / "deploy" / "fetch-token.sh"
AWS = VENV_BIN / "aws"
DEFAULT_PREFIX = "/app/customersupport/agentcore/"
# A region no other test module uses, so the default SSM prefix is ours alone in the shared moto.
REGION = "ap-southeast-2"
SCOPE = "customersupport/invoke"
SCOPE2 = "customersupport/admin"
JWT_PATTERN = r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"


# -- a spy that looks at every process's command line while a request is served ----------------
def processes_with(needles: list[str]) -> list[tuple[int, str]]:
    """(pid, needle) for every running process whose command line contains one of `needles`."""
    hits: list[tuple[int, str]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        hits.extend((int(entry.name), n) for n in needles if n and n in cmdline)
    return hits


@dataclass
class Seen:
    """One request the spy saw."""

    path: str
    authorization: str
    body: bytes
    cmdline_hits: list[tuple[int, str]]


class RequestSpy:
    """ASGI middleware: records each POST and scans /proc/*/cmdline for secrets before answering."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.secrets: list[str] = []
        self.seen: list[Seen] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = dict(scope["headers"])
        self.seen.append(
            Seen(
                scope["path"], headers.get(b"authorization", b"").decode(), body, processes_with(self.secrets)
            )
        )

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


# -- misbehaving endpoints -----------------------------------------------------------------------
LEAKY_DESCRIPTION = "do-not-print-this-description-7f3a"
FAKE_ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/html200/oauth2/token": (200, "text/html", b"<html><body>Sign in</body></html>"),
    "/html502/oauth2/token": (502, "text/html", b"<html><body>Bad gateway</body></html>"),
    "/no-token/oauth2/token": (200, "application/json", b'{"token_type": "Bearer"}'),
    "/described/oauth2/token": (
        400,
        "application/json",
        json.dumps({"error": "invalid_request", "error_description": LEAKY_DESCRIPTION}).encode(),
    ),
}


class FakeHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, content_type, body = FAKE_ROUTES.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def bytecode_cache(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where child Pythons (the aws CLI) cache bytecode: pytest's cache dir, kept across runs."""
    cache = getattr(config, "cache", None)
    return str(cache.mkdir("pycache") if cache else tmp_path_factory.getbasetemp() / "pycache")


# -- the world: moto pool + SSM, issuer, fake endpoints -------------------------------------------
@dataclass
class World:
    moto: str
    pool_id: str
    client_id: str
    secret: str
    wrong_secret_client_id: str
    unknown_to_issuer_client_id: str
    user_client_id: str
    username: str
    password: str
    issuer: LocalIssuer
    spy: RequestSpy
    fake_url: str
    hanging_url: str
    custom_prefix: str
    partial_prefix: str
    base_env: dict[str, str] = field(default_factory=dict)
    error_requests: list[Seen] = field(default_factory=list)

    def env(self, **changes: str | None) -> dict[str, str]:
        """The base environment with `changes` applied (None removes a variable)."""
        env = dict(self.base_env)
        for key, value in changes.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def all_from_env(self, **changes: str | None) -> dict[str, str]:
        """Every machine setting from the environment (no SSM call), plus `changes`."""
        settings: dict[str, str | None] = {
            "COGNITO_CLIENT_ID": self.client_id,
            "COGNITO_POOL_ID": self.pool_id,
            "COGNITO_TOKEN_URL": self.issuer.token_url,
            "COGNITO_AUTH_SCOPE": SCOPE,
        }
        return self.env(**{**settings, **changes})


def _put_parameters(ssm: Any, prefix: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        ssm.put_parameter(Name=f"{prefix}{name}", Value=value, Type="String", Overwrite=True)


@pytest.fixture(scope="module")
def world(
    moto_server: str, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[World]:
    aws = {
        "endpoint_url": moto_server,
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    idp = boto3.client("cognito-idp", **aws)
    ssm = boto3.client("ssm", **aws)

    pool_id = idp.create_user_pool(PoolName=f"fetch-token-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    idp.create_resource_server(
        UserPoolId=pool_id,
        Identifier="customersupport",
        Name="customersupport",
        Scopes=[
            {"ScopeName": "invoke", "ScopeDescription": "invoke"},
            {"ScopeName": "admin", "ScopeDescription": "admin"},
        ],
    )

    def machine_client(name: str) -> tuple[str, str]:
        made = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=name,
            GenerateSecret=True,
            AllowedOAuthFlows=["client_credentials"],
            AllowedOAuthScopes=[SCOPE, SCOPE2],
            AllowedOAuthFlowsUserPoolClient=True,
        )["UserPoolClient"]
        return made["ClientId"], made["ClientSecret"]

    client_id, secret = machine_client("machine")
    wrong_secret_client_id, _ = machine_client("machine-wrong-secret")
    unknown_client_id, _ = machine_client("machine-unknown-to-issuer")
    user_client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="user-login",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    username, password = "alex", f"Pa55-{uuid.uuid4().hex}!\"'\\ &x"
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)

    # The issuer knows the moto machine client with its real secret, the second one with a wrong
    # secret and the third not at all; and the same user-login client and user as moto.
    issuer = LocalIssuer(
        IssuerConfig(
            pool_id=pool_id,
            clients=[
                Client(client_id=client_id, client_secret=secret, allowed_scopes=[SCOPE, SCOPE2]),
                Client(
                    client_id=wrong_secret_client_id,
                    client_secret="not-the-secret-in-cognito",
                    allowed_scopes=[SCOPE],
                ),
                Client(client_id=user_client_id, user_login=True),
            ],
            users=[User(username=username, password=password, sub=str(uuid.uuid4()))],
            api_credentials={"testing": "testing"},  # the credentials the script runs with
        )
    )
    spy = RequestSpy(issuer.app())
    spy.secrets = [secret, password]

    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(16)  # connections complete in the backlog and are never answered
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeHandler)
    fake_thread = threading.Thread(target=fake.serve_forever, daemon=True)
    fake_thread.start()

    server = BackgroundServer(spy)
    issuer.base_url = server.url
    custom_prefix = f"/test/fetch-token/{uuid.uuid4().hex}/"
    partial_prefix = f"/test/fetch-token/{uuid.uuid4().hex}/"
    common = {
        "client_id": client_id,
        "pool_id": pool_id,
        "cognito_token_url": issuer.token_url,
        "user_client_id": user_client_id,
    }
    _put_parameters(ssm, DEFAULT_PREFIX, {**common, "cognito_auth_scope": SCOPE})
    _put_parameters(ssm, custom_prefix, {**common, "cognito_auth_scope": SCOPE2})
    _put_parameters(
        ssm, partial_prefix, {"client_id": client_id, "pool_id": pool_id, "cognito_auth_scope": SCOPE}
    )

    empty = tmp_path_factory.mktemp("aws-config") / "empty"
    empty.write_text("")
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "COGNITO_", "FETCH_TOKEN_", "PYTHONDONTWRITEBYTECODE"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    base_env.update(
        {
            "AWS_ENDPOINT_URL": moto_server,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # aws CLI v1 ignores AWS_REGION; the script must pass it on (the parameters live only there).
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_CLI": str(AWS),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            # aws CLI v1 costs ~1.6 s of CPU per run when it compiles its modules every time; cache the
            # bytecode outside the venv (the environment here may set PYTHONDONTWRITEBYTECODE).
            "PYTHONPYCACHEPREFIX": bytecode_cache(pytestconfig, tmp_path_factory),
        }
    )
    with server:
        try:
            yield World(
                moto=moto_server,
                pool_id=pool_id,
                client_id=client_id,
                secret=secret,
                wrong_secret_client_id=wrong_secret_client_id,
                unknown_to_issuer_client_id=unknown_client_id,
                user_client_id=user_client_id,
                username=username,
                password=password,
                issuer=issuer,
                spy=spy,
                fake_url=f"http://127.0.0.1:{fake.server_address[1]}",
                hanging_url=f"http://127.0.0.1:{hanging.getsockname()[1]}/oauth2/token",
                custom_prefix=custom_prefix,
                partial_prefix=partial_prefix,
                base_env=base_env,
            )
        finally:
            fake.shutdown()
            fake.server_close()
            fake_thread.join(timeout=10)
            hanging.close()


# -- helpers -------------------------------------------------------------------------------------
def run(
    args: list[str],
    env: dict[str, str],
    *,
    command: list[str] | None = None,
    timeout: float = 60,
    script: Path = SCRIPT,
) -> subprocess.CompletedProcess[str]:
    """Run the script (stdin not a terminal) and capture its output."""
    return subprocess.run(
        [*(command or []), str(script), *args],
        env=env,
        cwd=REPO,
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def token_of(result: subprocess.CompletedProcess[str]) -> str:
    """The token on stdout; asserts the run succeeded and printed exactly one JWT line."""
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.split("\n")
    assert len(lines) == 2 and lines[1] == "", result.stdout
    assert re.fullmatch(JWT_PATTERN, lines[0])
    return lines[0]


def assert_one_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Non-zero exit, empty stdout, exactly one `fetch-token: ` line on stderr naming `needles`."""
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fetch-token: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def verify_issuer_token(world: World, token: str) -> dict[str, Any]:
    """Claims of an issuer token after checking its signature against the published JWKS."""
    key = jwt.PyJWKClient(world.issuer.jwks_url).get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        issuer=world.issuer.issuer,
        options={"require": ["exp", "iat", "iss", "sub"]},
    )


def tools_dir(tmp_path: Path, names: list[str]) -> Path:
    """A directory with only the named tools (symlinks), to be used as the whole PATH."""
    where = {"python3": sys.executable, "aws": str(AWS)}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in names:
        target = where.get(name) or shutil.which(name)
        assert target, f"{name} is not installed on this machine"
        (bin_dir / name).symlink_to(target)
    return bin_dir


BASICS = ["bash", "mktemp", "rm", "cat"]


# -- machine-to-machine: happy paths -------------------------------------------------------------
def test_prints_one_verified_access_token_from_ssm_settings(world: World) -> None:
    world.spy.seen.clear()
    token = token_of(run([], world.env()))

    claims = verify_issuer_token(world, token)
    assert claims["client_id"] == world.client_id
    assert claims["sub"] == world.client_id
    assert claims["token_use"] == "access"
    assert claims["scope"] == SCOPE
    assert claims["exp"] > time.time()

    # No process had the secret on its command line while the token endpoint was answering, and
    # curl sent the client credentials with HTTP Basic, not in the form.
    [seen] = [s for s in world.spy.seen if s.path == "/oauth2/token"]
    assert seen.cmdline_hits == []
    assert (
        seen.authorization
        == "Basic " + base64.b64encode(f"{world.client_id}:{world.secret}".encode()).decode()
    )
    form = urllib.parse.parse_qs(seen.body.decode())
    assert form == {"grant_type": ["client_credentials"], "scope": [SCOPE]}


def test_token_can_be_captured_in_a_shell_variable(world: World) -> None:
    result = subprocess.run(
        [
            "bash",
            "-c",
            'set -e; TOKEN=$(scripts/deploy/fetch-token.sh); printf "len=%s\\n%s" "${#TOKEN}" "$TOKEN"',
        ],
        env=world.all_from_env(),
        cwd=REPO,
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    head, token = result.stdout.split("\n", 1)
    assert head == f"len={len(token)}"  # no stray whitespace or second line in the variable
    assert verify_issuer_token(world, token)["client_id"] == world.client_id


def test_settings_from_environment_need_no_ssm(world: World) -> None:
    # SSM points at a closed port: any SSM call would fail.
    env = world.all_from_env(
        COGNITO_AUTH_SCOPE=SCOPE2, AWS_ENDPOINT_URL_SSM=f"http://127.0.0.1:{free_port()}"
    )
    claims = verify_issuer_token(world, token_of(run([], env)))
    assert claims["client_id"] == world.client_id
    assert claims["scope"] == SCOPE2


def test_environment_overrides_single_ssm_value(world: World) -> None:
    # SSM has SCOPE under the default prefix; the environment wins for the scope only.
    claims = verify_issuer_token(world, token_of(run([], world.env(COGNITO_AUTH_SCOPE=SCOPE2))))
    assert claims["scope"] == SCOPE2
    assert claims["client_id"] == world.client_id


def test_prefix_selects_other_parameters(world: World) -> None:
    # The custom prefix says SCOPE2, the default prefix SCOPE; also accepts a prefix without "/".
    claims = verify_issuer_token(
        world, token_of(run(["--prefix", world.custom_prefix.rstrip("/")], world.env()))
    )
    assert claims["scope"] == SCOPE2


def test_region_option_wins_and_python3_parses_without_jq(world: World, tmp_path: Path) -> None:
    # Nothing exists in us-west-1: only --region finds the parameters and the pool. Without jq on
    # PATH the script parses JSON with python3.
    path = tools_dir(tmp_path, [*BASICS, "curl", "python3"])
    env = world.env(AWS_REGION="us-west-1", AWS_DEFAULT_REGION="us-west-1", PATH=str(path))
    claims = verify_issuer_token(world, token_of(run(["--region", REGION], env)))
    assert claims["client_id"] == world.client_id
    assert claims["scope"] == SCOPE


# -- --user --------------------------------------------------------------------------------------
def test_user_login_against_moto_prints_access_token(world: World, tmp_path: Path) -> None:
    # Also: --user needs neither curl nor jq (python3 parses).
    path = tools_dir(tmp_path, [*BASICS, "python3"])
    result = run(["--user", world.username], world.env(PATH=str(path), COGNITO_PASSWORD=world.password))
    token = token_of(result)
    jwks = jwt.PyJWKClient(f"{world.moto}/{world.pool_id}/.well-known/jwks.json")
    claims = jwt.decode(
        token, jwks.get_signing_key_from_jwt(token).key, algorithms=["RS256"], options={"verify_iss": False}
    )
    assert claims["token_use"] == "access"
    assert claims["client_id"] == world.user_client_id
    assert claims["username"] == world.username
    assert "aud" not in claims


def test_user_login_against_local_issuer_under_xtrace(world: World) -> None:
    world.spy.seen.clear()
    env = world.env(
        COGNITO_PASSWORD=world.password,
        COGNITO_USER_CLIENT_ID=world.user_client_id,
        AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=world.issuer.base_url,
    )
    result = run(["--user", world.username], env, command=["bash", "-x"])
    assert result.returncode == 0, result.stderr[-2000:]
    token = result.stdout.removesuffix("\n")
    claims = verify_issuer_token(world, token)
    assert claims["token_use"] == "access"
    assert claims["client_id"] == world.user_client_id
    assert claims["username"] == world.username
    # The trace is on, yet shows neither the password nor the token.
    assert "initiate-auth" in result.stderr
    assert world.password not in result.stderr
    assert token.split(".")[2] not in result.stderr
    # The aws CLI read the password from a file: it was on no command line during the login.
    [seen] = [s for s in world.spy.seen if s.path == "/"]
    assert seen.cmdline_hits == []


def test_user_password_prompt_on_a_terminal(world: World) -> None:
    master, slave = os.openpty()
    env = world.env(COGNITO_USER_CLIENT_ID=world.user_client_id)
    proc = subprocess.Popen(
        [str(SCRIPT), "--user", world.username],
        env=env,
        cwd=REPO,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        prompt = b""
        deadline = time.monotonic() + 30
        while b"Password for alex: " not in prompt:
            assert time.monotonic() < deadline, prompt
            assert proc.stderr is not None
            ready, _, _ = select.select([proc.stderr], [], [], 1)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 1024)
                assert chunk, prompt
                prompt += chunk
        os.write(master, world.password.encode() + b"\n")
        out, err = proc.communicate(timeout=60)
        echoed = b""
        while select.select([master], [], [], 0.2)[0]:
            try:
                echoed += os.read(master, 4096)
            except OSError:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err
    assert prompt + err == b"Password for alex: \n"
    assert world.password.encode() not in echoed  # read -s: not echoed on the terminal
    claims = jwt.decode(out.decode().strip(), options={"verify_signature": False})
    assert claims["token_use"] == "access"
    assert claims["username"] == world.username


# -- secrets stay out of traces ------------------------------------------------------------------
def test_bash_xtrace_shows_neither_secret_nor_token(world: World) -> None:
    result = run([], world.env(), command=["bash", "-x"])
    assert result.returncode == 0
    token = result.stdout.removesuffix("\n")
    assert verify_issuer_token(world, token)["client_id"] == world.client_id
    assert "\n" not in token and world.secret not in result.stdout
    trace = result.stderr
    assert "+ " in trace and "describe-user-pool-client" in trace  # the trace is really on
    assert world.client_id in trace
    assert world.secret not in trace
    assert token not in trace
    for part in token.split("."):  # no piece of the token either
        assert part not in trace


def test_cmdline_scan_detects_a_secret_on_a_command_line(world: World) -> None:
    # Control for the spy above: a process with the secret in argv is found.
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", world.secret])
    try:
        time.sleep(0.1)
        assert (proc.pid, world.secret) in processes_with([world.secret])
    finally:
        proc.kill()
        proc.wait()


# -- errors --------------------------------------------------------------------------------------
# Each case is (args, environment, words its one stderr line must contain). The cases that need the
# aws CLI (about 1 s of CPU per call) run concurrently in one fixture; each test checks one result.
def _error_cases(world: World) -> dict[str, tuple[list[str], dict[str, str], tuple[str, ...]]]:
    fake, closed = world.fake_url, f"http://127.0.0.1:{free_port()}"
    return {
        "missing parameter": (
            ["--prefix", world.partial_prefix],
            world.env(),
            (f"{world.partial_prefix}cognito_token_url", "COGNITO_TOKEN_URL"),
        ),
        "unknown client": (
            [],
            world.all_from_env(COGNITO_CLIENT_ID="no-such-client"),
            ("unknown app client no-such-client", "ResourceNotFoundException"),
        ),
        "client unknown to token endpoint": (
            [],
            world.all_from_env(COGNITO_CLIENT_ID=world.unknown_to_issuer_client_id),
            ("HTTP 401", "invalid_client"),
        ),
        "wrong secret": (
            [],
            world.all_from_env(COGNITO_CLIENT_ID=world.wrong_secret_client_id),
            ("invalid_client", "wrong client secret"),
        ),
        "scope not allowed": (
            [],
            world.all_from_env(COGNITO_AUTH_SCOPE="customersupport/everything"),
            ("HTTP 400", "invalid_scope", "customersupport/everything"),
        ),
        "error with description": (
            [],
            world.all_from_env(COGNITO_TOKEN_URL=f"{fake}/described/oauth2/token"),
            ("HTTP 400", "invalid_request"),
        ),
        "HTML with 200": (
            [],
            world.all_from_env(COGNITO_TOKEN_URL=f"{fake}/html200/oauth2/token"),
            ("HTTP 200", "non-JSON"),
        ),
        "HTML with 502": (
            [],
            world.all_from_env(COGNITO_TOKEN_URL=f"{fake}/html502/oauth2/token"),
            ("HTTP 502", "non-JSON"),
        ),
        "JSON without token": (
            [],
            world.all_from_env(COGNITO_TOKEN_URL=f"{fake}/no-token/oauth2/token"),
            ("HTTP 200", "without an access_token"),
        ),
        "token endpoint unreachable": (
            [],
            world.all_from_env(COGNITO_TOKEN_URL=f"{closed}/oauth2/token"),
            ("unreachable", f"{closed}/oauth2/token"),
        ),
        "token endpoint timeout": (
            [],
            world.all_from_env(COGNITO_TOKEN_URL=world.hanging_url, FETCH_TOKEN_TIMEOUT="2"),
            ("timeout", "2s", world.hanging_url),
        ),
        "aws endpoint unreachable": (
            [],
            world.env(AWS_ENDPOINT_URL=closed, AWS_MAX_ATTEMPTS="1"),
            ("reading SSM parameters", "Could not connect"),
        ),
        "wrong password": (
            ["--user", world.username],
            world.env(COGNITO_PASSWORD="Wrong-password-123!", COGNITO_USER_CLIENT_ID=world.user_client_id),
            ("alex", "NotAuthorizedException"),
        ),
        "unknown user-login client": (
            ["--user", world.username],
            world.env(COGNITO_PASSWORD=world.password, COGNITO_USER_CLIENT_ID="no-such-client"),
            ("no-such-client",),
        ),
        "no password and no terminal": (
            ["--user", world.username],
            world.env(),
            ("alex", "COGNITO_PASSWORD"),
        ),
    }


@dataclass
class ErrorRun:
    result: subprocess.CompletedProcess[str]
    needles: tuple[str, ...]
    seconds: float


@pytest.fixture(scope="module")
def error_runs(world: World) -> dict[str, ErrorRun]:
    cases = _error_cases(world)
    world.spy.seen.clear()

    def timed(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        result = run(args, env, timeout=60)
        return result, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(timed, args, env) for name, (args, env, _) in cases.items()}
        runs = {}
        for name, future in futures.items():
            result, seconds = future.result()
            runs[name] = ErrorRun(result=result, needles=cases[name][2], seconds=seconds)
    world.error_requests = list(world.spy.seen)
    return runs


ERROR_CASE_NAMES = [
    "missing parameter",
    "unknown client",
    "client unknown to token endpoint",
    "wrong secret",
    "scope not allowed",
    "error with description",
    "HTML with 200",
    "HTML with 502",
    "JSON without token",
    "token endpoint unreachable",
    "token endpoint timeout",
    "aws endpoint unreachable",
    "wrong password",
    "unknown user-login client",
    "no password and no terminal",
]


def test_error_cases_are_all_listed(world: World) -> None:
    assert sorted(_error_cases(world)) == sorted(ERROR_CASE_NAMES)


@pytest.mark.parametrize("case", ERROR_CASE_NAMES)
def test_error_is_one_clear_line(error_runs: dict[str, ErrorRun], world: World, case: str) -> None:
    error = error_runs[case]
    line = assert_one_error(error.result, *error.needles)
    for secret in (world.secret, world.password, LEAKY_DESCRIPTION, "Wrong-password-123!"):
        assert secret not in error.result.stderr
    if case == "missing parameter":
        assert "client_id" not in line  # only the absent parameter is reported
    if case == "token endpoint timeout":
        assert error.seconds < 15  # bounded by FETCH_TOKEN_TIMEOUT=2, not by curl's default


def test_error_runs_reached_the_token_endpoint_without_secrets_on_command_lines(
    error_runs: dict[str, ErrorRun], world: World
) -> None:
    token_requests = [seen for seen in world.error_requests if seen.path == "/oauth2/token"]
    # client unknown to the issuer, wrong secret, scope not allowed
    assert len(token_requests) == 3
    assert all(seen.cmdline_hits == [] for seen in token_requests)


@pytest.mark.parametrize(
    ("tools", "env_changes", "needle"),
    [
        ([*BASICS, "curl", "jq", "python3"], {"AWS_CLI": None}, "aws"),
        ([*BASICS, "curl", "jq"], {"AWS_CLI": "/nonexistent/aws"}, "/nonexistent/aws"),
        ([*BASICS, "aws", "jq", "python3"], {}, "curl"),
        ([*BASICS, "aws", "curl"], {}, "jq or python3"),
    ],
)
def test_missing_tool_is_named(
    world: World, tmp_path: Path, tools: list[str], env_changes: dict[str, str | None], needle: str
) -> None:
    path = tools_dir(tmp_path, tools)
    # A copy without the project's .venv beside it: no project awscli to fall back on.
    copy = tmp_path / "project" / "scripts" / SCRIPT.name
    copy.parent.mkdir(parents=True)
    shutil.copy(SCRIPT, copy)
    line = assert_one_error(run([], world.env(PATH=str(path), **env_changes), script=copy), needle)
    assert line.startswith("fetch-token: required tool not found")


def test_without_aws_on_path_the_projects_awscli_is_used(world: World, tmp_path: Path) -> None:
    path = tools_dir(tmp_path, [*BASICS, "curl", "jq", "python3"])
    result = run([], world.env(PATH=str(path), AWS_CLI=None))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(".") == 2  # one token


@pytest.mark.parametrize(
    ("args", "env_changes", "needle"),
    [
        (["--prefix"], {}, "--prefix needs a value"),
        (["--bogus"], {}, "unknown argument '--bogus'"),
        ([], {"FETCH_TOKEN_TIMEOUT": "soon"}, "FETCH_TOKEN_TIMEOUT"),
    ],
)
def test_bad_usage(world: World, args: list[str], env_changes: dict[str, str], needle: str) -> None:
    result = run(args, world.env(**env_changes))
    assert_one_error(result, needle)
    assert result.returncode == 2


def test_help_documents_every_environment_variable() -> None:
    result = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for name in [
        "COGNITO_CLIENT_ID",
        "COGNITO_POOL_ID",
        "COGNITO_TOKEN_URL",
        "COGNITO_AUTH_SCOPE",
        "COGNITO_USER_CLIENT_ID",
        "COGNITO_PASSWORD",
        "FETCH_TOKEN_TIMEOUT",
        "AWS_CLI",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
        "--prefix",
        "--region",
        "--user",
        DEFAULT_PREFIX,
    ]:
        assert name in result.stdout


def test_script_is_executable_bash_with_strict_mode() -> None:
    text = SCRIPT.read_text()
    assert os.access(SCRIPT, os.X_OK)
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
