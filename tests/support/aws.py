"""Test helpers around the bridged moto server (scripts/localdev/moto_stack.py).

Deploy scripts/deploy/prerequisites.yaml with the real script against moto, and read back what it wrote.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3

from scripts.localdev.moto_stack import (
    ACCOUNT,
    COGNITO_TYPES,
    DEPLOY_SCRIPT,
    REGION,
    REPO,
    SSM_NAMES,
    TEMPLATE,
    VENV_BIN,
)
from tests.support.processes import serving_moto

__all__ = ["ACCOUNT", "COGNITO_TYPES", "DEPLOY_SCRIPT", "REGION", "REPO", "SSM_NAMES", "TEMPLATE", "VENV_BIN"]


def bridged_moto_server(log: Path) -> contextlib.AbstractContextManager[str]:
    """A moto server on 127.0.0.1 with the Cognito CloudFormation bridge; yields its URL, then stops it."""
    return serving_moto(
        lambda port: [sys.executable, "-m", "scripts.localdev.moto_stack", "--serve-moto", str(port)], log
    )


def aws_cli_env(moto_url: str, tmp_path: Path, path: str | None = None) -> dict[str, str]:
    """Environment for the aws CLI (the venv's first on PATH) against moto, without the user's profiles."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PATH=path if path is not None else f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        AWS_ENDPOINT_URL=moto_url,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        # Keep the developer's own profiles and config out of the run.
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
    )
    return env


def run_deploy_script(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """scripts/deploy/deploy-prerequisites.sh with `args`."""
    return subprocess.run(
        ["bash", str(DEPLOY_SCRIPT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def boto_client(service: str, moto_url: str) -> Any:
    """A boto3 client for `service` on moto."""
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def deploy_prerequisites(moto_url: str, tmp: Path, *extra: str) -> dict[str, Any]:
    """Run the real deploy script once (unique stack, domain and SSM prefix); `run` holds its result."""
    suffix = uuid.uuid4().hex[:8]
    info: dict[str, Any] = {
        "stack": f"cs-prereq-{suffix}",
        "domain": f"cs-test-{suffix}",
        "prefix": f"/test/{suffix}/agentcore/",
    }
    info["run"] = run_deploy_script(
        aws_cli_env(moto_url, tmp),
        tmp,  # any working directory: the script locates the template itself
        "--stack-name",
        info["stack"],
        "--domain-prefix",
        info["domain"],
        "--parameter-prefix",
        info["prefix"],
        *extra,
    )
    return info


def ssm_values(prefix: str, moto_url: str) -> dict[str, str]:
    """Every String parameter under `prefix`, keyed by its name without the prefix."""
    pages = (
        boto_client("ssm", moto_url)
        .get_paginator("get_parameters_by_path")
        .paginate(Path=prefix, Recursive=True)
    )
    found = [p for page in pages for p in page["Parameters"]]  # at most 10 a page
    assert {p["Type"] for p in found} <= {"String"}
    return {p["Name"].removeprefix(prefix): p["Value"] for p in found}
