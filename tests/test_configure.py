"""scripts/deploy/configure.sh against a real deployment of scripts/deploy/prerequisites.yaml on moto.

The prerequisites are deployed once per module with the real scripts/deploy/deploy-prerequisites.sh (the
bridged moto server of scripts/localdev/moto_stack.py). configure.sh then reads the SSM parameters that
deployment wrote, through the venv's aws CLI, and writes them into a copy of the project
(``--project``): the repository's own agentcore.json is never touched. The real `agentcore validate`
must accept the result.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.deploy import manifest
from tests.support.aws import (
    VENV_BIN,
    aws_cli_env,
    boto_client,
    bridged_moto_server,
    deploy_prerequisites,
    ssm_values,
)
from tests.support.cli import EXPECTED_MAJOR_MINOR, cli_version, find_agentcore_cli
from tests.support.project import copy_project

REPO = Path(__file__).resolve().parents[1]
CONFIGURE = REPO / "scripts" / "deploy" / "configure.sh"
BASH = shutil.which("bash") or "/bin/bash"
KEYS = (
    "cognito_discovery_url",
    "client_id",
    "user_client_id",
    "warranty_check_lambda_arn",
    "account_tools_lambda_arn",
)
WEB_KEYS = ("web_client_id", "cognito_domain_url")  # optional: read in the same call
EDGE_KEYS = ("edge_grant_secret_arn", "edge_nonce_table_name", "edge_runtime_policy_arn")  # optional too
FEEDBACK_KEYS = ("feedback_table_name", "feedback_write_policy_arn")  # optional too: the second call


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with bridged_moto_server(tmp_path_factory.mktemp("moto-configure") / "moto.log") as url:
        yield url


@pytest.fixture(scope="module")
def deployed(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One deployment of the prerequisites for the module; `ssm` holds the parameters it wrote."""
    info = deploy_prerequisites(moto_url, tmp_path_factory.mktemp("deploy"))
    run = info["run"]
    assert run.returncode == 0, f"deploy-prerequisites failed:\n{run.stdout}\n{run.stderr}"
    info["ssm"] = ssm_values(info["prefix"], moto_url)
    assert set(KEYS) | set(WEB_KEYS) | set(EDGE_KEYS) | set(FEEDBACK_KEYS) <= set(info["ssm"])
    return info


@pytest.fixture(scope="module")
def agentcore_cli() -> str:
    path = find_agentcore_cli()
    assert cli_version(path)[:2] == EXPECTED_MAJOR_MINOR
    return path


def script_env(moto_url: str, tmp: Path, cli: str | None = None, path: str | None = None) -> dict[str, str]:
    """The aws CLI on moto, the venv first on PATH (aws, python3), and the agentcore CLI if given."""
    env = aws_cli_env(moto_url, tmp, path=path)
    env.pop("AGENTCORE_CLI", None)
    env.update(AGENTCORE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1")
    if cli is not None:
        env["AGENTCORE_CLI"] = cli
    return env


def configure(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, str(CONFIGURE), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


def manifest_bytes(project: Path) -> bytes:
    return (project / "agentcore" / "agentcore.json").read_bytes()


@pytest.fixture(scope="module")
def configured(
    deployed: dict[str, Any], moto_url: str, agentcore_cli: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """configure.sh run once on a fresh copy of the project, with the deployment's prefix."""
    tmp = tmp_path_factory.mktemp("configured")
    project = copy_project(tmp / "project")
    before = manifest_bytes(project)
    env = script_env(moto_url, tmp, cli=agentcore_cli)
    run = configure(env, "--prefix", deployed["prefix"], "--project", str(project))
    return {"project": project, "before": before, "after": manifest_bytes(project), "run": run, "env": env}


def _values(ssm: dict[str, str]) -> dict[str, str]:
    return {
        "discovery_url": ssm["cognito_discovery_url"],
        "client_id": ssm["client_id"],
        "user_client_id": ssm["user_client_id"],
        "lambda_arn": ssm["warranty_check_lambda_arn"],
        "account_lambda_arn": ssm["account_tools_lambda_arn"],
        "web_client_id": ssm["web_client_id"],
        "edge_secret_arn": ssm["edge_grant_secret_arn"],
        "edge_nonce_table": ssm["edge_nonce_table_name"],
        "edge_policy_arn": ssm["edge_runtime_policy_arn"],
        "feedback_table": ssm["feedback_table_name"],
        "feedback_policy_arn": ssm["feedback_write_policy_arn"],
    }


# ------------------------------------------------------------------------------------- success


def test_configure_writes_the_ssm_values(
    configured: dict[str, Any], deployed: dict[str, Any], moto_url: str
) -> None:
    run = configured["run"]
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.stderr == ""
    ssm = deployed["ssm"]
    spec = json.loads(configured["after"])
    (runtime,) = spec["runtimes"]
    (gateway,) = spec["agentCoreGateways"]
    clients = [ssm["client_id"], ssm["user_client_id"], ssm["web_client_id"]]
    for resource in (runtime, gateway):
        assert resource["authorizerConfiguration"]["customJwtAuthorizer"] == {
            "discoveryUrl": ssm["cognito_discovery_url"],
            "allowedClients": clients,
        }
    env = {e["name"]: e["value"] for e in runtime["envVars"]}
    assert env == {
        "AUTH_MODE": "enforce",
        "AUTH_DISCOVERY_URL": ssm["cognito_discovery_url"],
        "AUTH_ALLOWED_CLIENTS": ",".join(clients),
        # Edge grants: customer tokens need the front door's grant; the machine client is exempt.
        "EDGE_GRANT_SECRET_ID": ssm["edge_grant_secret_arn"],
        "EDGE_NONCE_TABLE": ssm["edge_nonce_table_name"],
        "EDGE_EXEMPT_CLIENTS": ssm["client_id"],
        # Ratings (docs/feedback.md): the thumbs work deployed.
        "FEEDBACK_TABLE_NAME": ssm["feedback_table_name"],
    }
    # agentcore deploy attaches them to the execution role (AgentCoreRuntime.attachAdditionalPolicies).
    assert runtime["additionalPolicies"] == [ssm["edge_runtime_policy_arn"], ssm["feedback_write_policy_arn"]]
    warranty, account = gateway["targets"]
    assert warranty["lambdaFunctionArn"] == {
        "lambdaArn": ssm["warranty_check_lambda_arn"],
        "toolSchemaFile": "tool_schemas/warranty_check.json",
    }
    assert account["lambdaFunctionArn"] == {
        "lambdaArn": ssm["account_tools_lambda_arn"],
        "toolSchemaFile": "tool_schemas/account_tools.json",
    }
    # The deployment's values really are the pool, clients and function moto created.
    pool_id = ssm["pool_id"]
    assert ssm["cognito_discovery_url"].split("/")[3] == pool_id
    idp = boto_client("cognito-idp", moto_url)
    listed = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=10)["UserPoolClients"]
    assert {c["ClientId"] for c in listed} == set(clients)


def test_configure_changes_nothing_else(configured: dict[str, Any], deployed: dict[str, Any]) -> None:
    before = json.loads(configured["before"])
    expected = json.loads(configured["before"])
    manifest.apply(expected, _values(deployed["ssm"]))
    assert json.loads(configured["after"]) == expected
    assert expected != before
    # The CLI's own formatting: JSON.stringify(spec, null, 2), no trailing newline, key order kept.
    assert configured["after"].decode() == manifest.render(expected)


def test_configure_prints_what_it_changed(configured: dict[str, Any], deployed: dict[str, Any]) -> None:
    lines = configured["run"].stdout.splitlines()
    project = configured["project"]
    assert lines[0] == f"Read 12 parameters under {deployed['prefix']} (us-east-1)."
    assert lines[1] == f"updated {project / 'agentcore' / 'agentcore.json'}:"
    changed = [line.strip().split(": ", 1)[0] for line in lines[2:16]]
    assert changed == [
        "runtimes[CustomerSupport].authorizerConfiguration.customJwtAuthorizer.discoveryUrl",
        "runtimes[CustomerSupport].authorizerConfiguration.customJwtAuthorizer.allowedClients",
        "agentCoreGateways[my-gateway-secure].authorizerConfiguration.customJwtAuthorizer.discoveryUrl",
        "agentCoreGateways[my-gateway-secure].authorizerConfiguration.customJwtAuthorizer.allowedClients",
        "runtimes[CustomerSupport].envVars[AUTH_DISCOVERY_URL]",
        "runtimes[CustomerSupport].envVars[AUTH_ALLOWED_CLIENTS]",
        "runtimes[CustomerSupport].envVars[EDGE_GRANT_SECRET_ID]",
        "runtimes[CustomerSupport].envVars[EDGE_NONCE_TABLE]",
        "runtimes[CustomerSupport].envVars[EDGE_EXEMPT_CLIENTS]",
        "runtimes[CustomerSupport].additionalPolicies",
        "runtimes[CustomerSupport].envVars[FEEDBACK_TABLE_NAME]",
        "runtimes[CustomerSupport].additionalPolicies",
        "agentCoreGateways[my-gateway-secure].targets[WarrantyCheck].lambdaFunctionArn.lambdaArn",
        "agentCoreGateways[my-gateway-secure].targets[AccountTools].lambdaFunctionArn.lambdaArn",
    ]
    assert deployed["ssm"]["feedback_write_policy_arn"] in lines[13]
    assert deployed["ssm"]["warranty_check_lambda_arn"] in lines[14]
    assert deployed["ssm"]["account_tools_lambda_arn"] in lines[15]
    assert lines[16:] == [
        "wrote app/WebChat/config.json (web chat: issuer, client id, domain, endpoint)",
        "  endpoint: none yet; deploy-frontdoor.sh writes the site's, or pass --web-endpoint",
        f"manifest check: OK ({project / 'agentcore' / 'agentcore.json'})",
        "agentcore validate: OK",
    ]


def test_real_agentcore_validate_passes_on_the_result(configured: dict[str, Any], agentcore_cli: str) -> None:
    result = subprocess.run(
        [agentcore_cli, "validate", "--json"],
        cwd=configured["project"],
        env=configured["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"success": True}, result.stderr
    assert manifest.check(configured["project"]) == []


def test_second_run_leaves_the_file_byte_identical(
    configured: dict[str, Any], deployed: dict[str, Any]
) -> None:
    path = configured["project"] / "agentcore" / "agentcore.json"
    inode = path.stat().st_ino
    run = configure(
        configured["env"], "--prefix", deployed["prefix"], "--project", str(configured["project"])
    )
    assert run.returncode == 0, run.stderr
    assert path.read_bytes() == configured["after"]
    assert path.stat().st_ino == inode  # not rewritten either
    assert f"unchanged: {path} already holds these values" in run.stdout.splitlines()
    assert run.stdout.splitlines()[-1] == "agentcore validate: OK"


def test_repository_manifest_is_untouched(configured: dict[str, Any]) -> None:
    assert (REPO / "agentcore" / "agentcore.json").read_bytes() == configured["before"]


# ------------------------------------------------------------------------------------- failures


def _put(moto_url: str, prefix: str, values: dict[str, str]) -> None:
    # boto3, not the aws CLI: aws CLI v1 would fetch an https:// value instead of storing it.
    ssm = boto_client("ssm", moto_url)
    for key, value in values.items():
        ssm.put_parameter(Name=f"{prefix}{key}", Value=value, Type="String")


def _fresh_prefix() -> str:
    return f"/test/{uuid.uuid4().hex[:8]}/agentcore/"


def test_missing_parameter_fails_naming_it_and_writes_nothing(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    prefix = _fresh_prefix()
    _put(moto_url, prefix, {k: deployed["ssm"][k] for k in KEYS if k != "user_client_id"})
    project = copy_project(tmp_path / "project")
    before = manifest_bytes(project)
    run = configure(script_env(moto_url, tmp_path), "--prefix", prefix, "--project", str(project))
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == f"configure: error: missing SSM parameter(s): {prefix}user_client_id\n"
    assert manifest_bytes(project) == before


def test_empty_prefix_names_every_parameter(moto_url: str, tmp_path: Path) -> None:
    prefix = _fresh_prefix()
    project = copy_project(tmp_path / "project")
    before = manifest_bytes(project)
    run = configure(script_env(moto_url, tmp_path), "--prefix", prefix, "--project", str(project))
    assert run.returncode == 1 and run.stdout == ""
    names = ", ".join(f"{prefix}{key}" for key in KEYS)
    assert run.stderr == f"configure: error: missing SSM parameter(s): {names}\n"
    assert manifest_bytes(project) == before


def test_region_option_wins_over_the_environment(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    before = manifest_bytes(project)
    env = script_env(moto_url, tmp_path)
    # The parameters exist in us-east-1 only: another region finds none of them...
    elsewhere = configure(
        env, "--region", "eu-west-1", "--prefix", deployed["prefix"], "--project", str(project)
    )
    assert elsewhere.returncode == 1
    assert f"missing SSM parameter(s): {deployed['prefix']}cognito_discovery_url" in elsewhere.stderr
    assert manifest_bytes(project) == before
    # ...and --region us-east-1 finds them although the environment says eu-west-1.
    env.update(AWS_REGION="eu-west-1", AWS_DEFAULT_REGION="eu-west-1")
    run = configure(
        env,
        "--region",
        "us-east-1",
        "--skip-validate",
        "--prefix",
        deployed["prefix"],
        "--project",
        str(project),
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(manifest_bytes(project)) != json.loads(before)


def test_aws_cli_override_is_used_for_two_get_parameters_calls(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "aws-calls.log"
    wrapper = tmp_path / "aws-wrapper"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{VENV_BIN / "aws"}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = {**script_env(moto_url, tmp_path), "AWS_CLI": str(wrapper)}
    project = copy_project(tmp_path / "project")
    run = configure(env, "--skip-validate", "--prefix", deployed["prefix"], "--project", str(project))
    assert run.returncode == 0, run.stderr
    # The API takes at most 10 names a call: the first ten, then the rest.
    names = [f"{deployed['prefix']}{key}" for key in (*KEYS, *WEB_KEYS, *EDGE_KEYS, *FEEDBACK_KEYS)]
    assert log.read_text().splitlines() == [
        f"--region us-east-1 ssm get-parameters --with-decryption --names {' '.join(batch)} --output json"
        for batch in (names[:10], names[10:])
    ]
    assert run.stdout.splitlines()[-1] == "agentcore validate: skipped (--skip-validate)"


def test_invalid_parameter_value_is_refused_without_writing(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    prefix = _fresh_prefix()
    values = {k: deployed["ssm"][k] for k in KEYS}
    values["cognito_discovery_url"] = "http://idp.internal/.well-known/openid-configuration"
    _put(moto_url, prefix, values)
    project = copy_project(tmp_path / "project")
    before = manifest_bytes(project)
    run = configure(script_env(moto_url, tmp_path), "--prefix", prefix, "--project", str(project))
    assert run.returncode == 1
    assert "must be an https URL" in run.stderr
    assert (
        run.stderr.splitlines()[-1] == f"configure: error: could not write {project}/agentcore/agentcore.json"
    )
    assert manifest_bytes(project) == before


def test_schema_error_fails_through_agentcore_validate(
    deployed: dict[str, Any], moto_url: str, agentcore_cli: str, tmp_path: Path
) -> None:
    # scripts/deploy/manifest.py check does not look at runtimeVersion; the CLI's schema does.
    project = copy_project(tmp_path / "project")
    path = project / "agentcore" / "agentcore.json"
    spec = json.loads(path.read_text())
    spec["runtimes"][0]["runtimeVersion"] = "PYTHON_2_7"
    path.write_text(manifest.render(spec))
    env = script_env(moto_url, tmp_path, cli=agentcore_cli)
    run = configure(env, "--prefix", deployed["prefix"], "--project", str(project))
    assert run.returncode == 1
    assert "manifest check: OK" in run.stdout and "agentcore validate: OK" not in run.stdout
    assert "PYTHON_3_13" in run.stderr  # the CLI's own explanation is passed on
    assert run.stderr.splitlines()[-1] == f"configure: error: agentcore validate failed for {path}"


def _path_without_agentcore(tmp_path: Path) -> str:
    """A PATH with only what configure.sh runs, plus a starter-toolkit-like `agentcore` (no validate)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "mktemp", "rm", "grep", "tail", "cat"):
        real = shutil.which(tool)
        assert real, tool
        (bin_dir / tool).symlink_to(real)
    (bin_dir / "python3").symlink_to(sys.executable)
    (bin_dir / "aws").symlink_to(VENV_BIN / "aws")
    impostor = bin_dir / "agentcore"
    impostor.write_text(
        "#!/bin/sh\necho 'Usage: agentcore [OPTIONS] COMMAND'\necho '  configure  launch  invoke'\n"
    )
    impostor.chmod(0o755)
    return str(bin_dir)


def test_without_the_agentcore_cli_it_writes_checks_and_fails(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    env = script_env(moto_url, tmp_path, path=_path_without_agentcore(tmp_path))
    run = configure(env, "--prefix", deployed["prefix"], "--project", str(project))
    assert run.returncode == 1
    (line,) = run.stderr.splitlines()
    assert line.startswith("configure: error: agentcore validate was not run: no agentcore CLI")
    assert "npm install -g @aws/agentcore@0" in line and "AGENTCORE_CLI" in line
    # What it could do, it did: the values are written and the project's own checks passed.
    assert json.loads(manifest_bytes(project)) == json.loads(configure_expected(deployed, project))
    assert "manifest check: OK" in run.stdout

    skipped = configure(env, "--skip-validate", "--prefix", deployed["prefix"], "--project", str(project))
    assert skipped.returncode == 0, skipped.stderr
    assert "unchanged: " in skipped.stdout


def configure_expected(deployed: dict[str, Any], project: Path) -> str:
    spec = json.loads((REPO / "agentcore" / "agentcore.json").read_text())
    manifest.apply(spec, _values(deployed["ssm"]))
    return manifest.render(spec)


def test_unreachable_endpoint_fails_with_one_line(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    before = manifest_bytes(project)
    env = {**script_env("http://127.0.0.1:9", tmp_path), "AWS_MAX_ATTEMPTS": "1"}
    run = configure(env, "--project", str(project))
    assert run.returncode == 1 and run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith("configure: error: aws ssm get-parameters failed: ")
    assert "127.0.0.1:9" in line
    assert manifest_bytes(project) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefix", "no/leading/slash/"], "--prefix must look like /app/customersupport/agentcore/"),
        (["--prefix"], "--prefix needs a value"),
        (["--project", "/nonexistent/project"], "no agentcore/agentcore.json under /nonexistent/project"),
        (["--frobnicate"], "unknown argument: --frobnicate"),
    ],
)
def test_invalid_arguments_fail_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    run = configure(script_env("http://127.0.0.1:9", tmp_path), *args)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith(f"configure: error: {message}") and run.stderr.count("\n") == 1


def test_help_prints_usage(tmp_path: Path) -> None:
    run = subprocess.run(["bash", str(CONFIGURE), "--help"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout.startswith("Write the prerequisites' values (SSM parameters)")
    assert all(
        opt in run.stdout for opt in ("--prefix", "--region", "--project", "--skip-validate", "AWS_CLI")
    )
    assert "set -euo" not in run.stdout


def test_script_is_executable_and_strict() -> None:
    assert os.access(CONFIGURE, os.X_OK)
    assert "\nset -euo pipefail\n" in CONFIGURE.read_text()


# ------------------------------------------------------------------------------------- web chat


def test_configure_writes_the_web_chats_config_from_ssm(
    configured: dict[str, Any], deployed: dict[str, Any]
) -> None:
    ssm = deployed["ssm"]
    config = json.loads((configured["project"] / "app" / "WebChat" / "config.json").read_text())
    assert config == {
        "issuer": ssm["cognito_discovery_url"].removesuffix("/.well-known/openid-configuration"),
        "clientId": ssm["web_client_id"],
        "domain": ssm["cognito_domain_url"],
        "endpoint": "",  # nothing deployed in the copied project yet
        "scope": "openid profile email customersupport/invoke",
    }


def test_web_endpoint_is_a_front_door_never_the_bare_runtime(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/customersupport_CustomerSupport-AbC123"
    state = project / "agentcore" / ".cli"
    state.mkdir(parents=True, exist_ok=True)
    (state / "deployed-state.json").write_text(json.dumps({"targets": {"default": {"runtimeArn": arn}}}))
    run = configure(
        script_env(moto_url, tmp_path),
        "--skip-validate",
        "--prefix",
        deployed["prefix"],
        "--project",
        str(project),
    )
    assert run.returncode == 0, run.stderr
    config = json.loads((project / "app" / "WebChat" / "config.json").read_text())
    assert config["endpoint"] == ""  # a deployed runtime is no endpoint for customers (no per-user limits)
    bare = configure(
        script_env(moto_url, tmp_path),
        "--skip-validate",
        "--prefix",
        deployed["prefix"],
        "--project",
        str(project),
        "--web-endpoint",
        "https://bedrock-agentcore.us-east-1.amazonaws.com/runtimes/"
        "arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2FX/invocations?qualifier=DEFAULT",
    )
    assert bare.returncode == 1 and "must be the front door's /invocations URL" in bare.stderr
    given = configure(
        script_env(moto_url, tmp_path),
        "--skip-validate",
        "--prefix",
        deployed["prefix"],
        "--project",
        str(project),
        "--web-endpoint",
        "https://chat.example.com/invocations",
    )
    assert given.returncode == 0, given.stderr
    config = json.loads((project / "app" / "WebChat" / "config.json").read_text())
    assert config["endpoint"] == "https://chat.example.com/invocations"


def test_a_stack_without_the_web_client_still_configures(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    prefix = _fresh_prefix()
    _put(moto_url, prefix, {k: deployed["ssm"][k] for k in KEYS})
    project = copy_project(tmp_path / "project")
    run = configure(
        script_env(moto_url, tmp_path), "--skip-validate", "--prefix", prefix, "--project", str(project)
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == f"Read {len(KEYS)} parameters under {prefix} (us-east-1)."
    assert not (project / "app" / "WebChat" / "config.json").exists()
    spec = json.loads(manifest_bytes(project))
    clients = spec["runtimes"][0]["authorizerConfiguration"]["customJwtAuthorizer"]["allowedClients"]
    assert clients == [deployed["ssm"]["client_id"], deployed["ssm"]["user_client_id"]]
    # Nor the edge grants' parameters: the runtime is left requiring no grants, as before.
    assert not [e for e in spec["runtimes"][0]["envVars"] if e["name"].startswith(("EDGE_", "FEEDBACK_"))]
    assert "additionalPolicies" not in spec["runtimes"][0]


def test_a_partial_set_of_edge_parameters_is_refused_without_writing(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    prefix = _fresh_prefix()
    _put(moto_url, prefix, {k: deployed["ssm"][k] for k in (*KEYS, "edge_grant_secret_arn")})
    project = copy_project(tmp_path / "project")
    before = manifest_bytes(project)
    run = configure(
        script_env(moto_url, tmp_path), "--skip-validate", "--prefix", prefix, "--project", str(project)
    )
    assert run.returncode == 1
    assert "edge grants need all of edge_secret_arn, edge_nonce_table, edge_policy_arn" in run.stderr
    assert manifest_bytes(project) == before


def test_a_stack_with_ratings_only_gets_the_table_and_its_policy(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    # Found only by the second call: without it the thumbs would stay off deployed.
    prefix = _fresh_prefix()
    _put(moto_url, prefix, {k: deployed["ssm"][k] for k in (*KEYS, *FEEDBACK_KEYS)})
    project = copy_project(tmp_path / "project")
    run = configure(
        script_env(moto_url, tmp_path), "--skip-validate", "--prefix", prefix, "--project", str(project)
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == f"Read {len(KEYS) + 2} parameters under {prefix} (us-east-1)."
    (runtime,) = json.loads(manifest_bytes(project))["runtimes"]
    env = {e["name"]: e["value"] for e in runtime["envVars"]}
    assert env["FEEDBACK_TABLE_NAME"] == deployed["ssm"]["feedback_table_name"]
    assert runtime["additionalPolicies"] == [deployed["ssm"]["feedback_write_policy_arn"]]


def test_a_ratings_table_without_its_policy_is_refused_without_writing(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    prefix = _fresh_prefix()
    _put(moto_url, prefix, {k: deployed["ssm"][k] for k in (*KEYS, "feedback_table_name")})
    project = copy_project(tmp_path / "project")
    before = manifest_bytes(project)
    run = configure(
        script_env(moto_url, tmp_path), "--skip-validate", "--prefix", prefix, "--project", str(project)
    )
    # What a stack from before feedback_write_policy_arn publishes: the remedy is named.
    assert run.returncode == 1
    assert run.stdout.startswith("Read ")
    assert run.stderr == (
        f"configure: error: SSM parameter {prefix}feedback_write_policy_arn is missing "
        f"({prefix}feedback_table_name is there): the prerequisites stack predates it; "
        "re-run scripts/deploy/deploy-prerequisites.sh, then this script\n"
    )
    assert manifest_bytes(project) == before
