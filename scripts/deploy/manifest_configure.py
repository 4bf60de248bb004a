"""``configure``: write a deployment's values into agentcore/agentcore.json, changing nothing else.

Keeps key order and the CLI's formatting; writes only on change, atomically. Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scripts.deploy import manifest_edge, manifest_feedback
from scripts.deploy.manifest_spec import (
    AUTH_DISCOVERY_ENV,
    AUTH_LIST_ENV,
    CONFIGURE_KEYS,
    DISCOVERY_SUFFIX,
    GATEWAY_NAME,
    LAMBDA_ARN,
    OPTIONAL_KEYS,
    RUNTIME_NAME,
    TARGET_ARN_KEYS,
    manifest_path,
)


def _validate_values(values: Mapping[str, str]) -> dict[str, str]:
    missing = [key for key in CONFIGURE_KEYS if not values.get(key)]
    if missing:
        raise ValueError(f"missing value(s): {', '.join(missing)}")
    clean = {key: str(values[key]).strip() for key in CONFIGURE_KEYS}
    clean.update({key: str(values[key]).strip() for key in OPTIONAL_KEYS if values.get(key)})
    clean.update(manifest_edge.validate(values))
    clean.update(manifest_feedback.validate(values))
    url = clean["discovery_url"]
    if not (url.startswith("https://") and url.endswith(DISCOVERY_SUFFIX)) or re.search(r"\s", url):
        raise ValueError(f"discovery URL {url!r} must be an https URL ending in {DISCOVERY_SUFFIX}")
    for key in ("client_id", "user_client_id", *(k for k in ("web_client_id",) if k in clean)):
        if re.search(r"[\s,]", clean[key]):
            raise ValueError(f"{key} {clean[key]!r} must not contain whitespace or commas")
    for key in TARGET_ARN_KEYS.values():
        if not LAMBDA_ARN.fullmatch(clean[key]):
            raise ValueError(f"{clean[key]!r} is not a Lambda function ARN")
    return clean


def _named(items: Any, name: str, what: str) -> dict[str, Any]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    raise LookupError(f"the manifest has no {what} named {name}")


def _set(obj: dict[str, Any], key: str, value: Any, where: str, changes: list[str]) -> None:
    if obj.get(key) != value:
        changes.append(f"{where}: {json.dumps(obj.get(key))} -> {json.dumps(value)}")
        obj[key] = value


def apply(spec: dict[str, Any], values: Mapping[str, str]) -> list[str]:
    """Write `values` into `spec` in place; returns one line per changed field ([] if none)."""
    v = _validate_values(values)
    runtime = _named(spec.get("runtimes"), RUNTIME_NAME, "runtime")
    gateway = _named(spec.get("agentCoreGateways"), GATEWAY_NAME, "gateway")
    lambda_configs: dict[str, dict[str, Any]] = {}
    for target_name in TARGET_ARN_KEYS:
        target = _named(gateway.get("targets"), target_name, f"target of gateway {GATEWAY_NAME}")
        config = target.get("lambdaFunctionArn")
        if target.get("targetType") != "lambdaFunctionArn" or not isinstance(config, dict):
            raise LookupError(
                f"target {target_name} of gateway {GATEWAY_NAME} is not a lambdaFunctionArn target"
            )
        lambda_configs[target_name] = config
    clients = list(
        dict.fromkeys(
            [v["client_id"], v["user_client_id"], *([v["web_client_id"]] if "web_client_id" in v else [])]
        )
    )

    changes: list[str] = []
    for label, resource in (
        (f"runtimes[{RUNTIME_NAME}]", runtime),
        (f"agentCoreGateways[{GATEWAY_NAME}]", gateway),
    ):
        if resource.get("authorizerType") != "CUSTOM_JWT":
            raise LookupError(
                f"{label} has authorizerType {resource.get('authorizerType')!r}, not CUSTOM_JWT; "
                "configure fills in a CUSTOM_JWT authorizer, it does not switch authorizer types"
            )
        config = resource.setdefault("authorizerConfiguration", {})
        jwt = config.setdefault("customJwtAuthorizer", {})
        where = f"{label}.authorizerConfiguration.customJwtAuthorizer"
        _set(jwt, "discoveryUrl", v["discovery_url"], f"{where}.discoveryUrl", changes)
        _set(jwt, "allowedClients", clients, f"{where}.allowedClients", changes)

    env_list = runtime.setdefault("envVars", [])
    for name, value in (
        (AUTH_DISCOVERY_ENV, v["discovery_url"]),
        (AUTH_LIST_ENV["allowedClients"], ",".join(clients)),
    ):
        entry = next((e for e in env_list if isinstance(e, dict) and e.get("name") == name), None)
        if entry is None:
            entry = {"name": name}
            env_list.append(entry)
        _set(entry, "value", value, f"runtimes[{RUNTIME_NAME}].envVars[{name}]", changes)

    if "edge_secret_arn" in v:
        manifest_edge.apply(
            runtime,
            v,
            v["client_id"],
            f"runtimes[{RUNTIME_NAME}]",
            lambda obj, key, value, where: _set(obj, key, value, where, changes),
        )

    if "feedback_table" in v:
        manifest_feedback.apply(
            runtime,
            v,
            f"runtimes[{RUNTIME_NAME}]",
            lambda obj, key, value, where: _set(obj, key, value, where, changes),
        )

    for target_name, key in TARGET_ARN_KEYS.items():
        _set(
            lambda_configs[target_name],
            "lambdaArn",
            v[key],
            f"agentCoreGateways[{GATEWAY_NAME}].targets[{target_name}].lambdaFunctionArn.lambdaArn",
            changes,
        )
    return changes


def render(spec: Any, trailing_newline: bool = False) -> str:
    """`spec` as the agentcore CLI writes it: JSON.stringify(spec, null, 2), no trailing newline."""
    return json.dumps(spec, indent=2, ensure_ascii=False) + ("\n" if trailing_newline else "")


def _write_atomically(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def configure_changes(project_dir: str | os.PathLike[str], values: Mapping[str, str]) -> list[str]:
    """Like `configure`, returning what changed (one line per field) instead of a bool."""
    path = manifest_path(project_dir)
    original = path.read_text(encoding="utf-8")
    spec = json.loads(original)
    if not isinstance(spec, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    changes = apply(spec, values)
    if changes:
        _write_atomically(path, render(spec, trailing_newline=original.endswith("\n")))
    return changes


def configure(project_dir: str | os.PathLike[str], values: Mapping[str, str]) -> bool:
    """Write discovery URL, allowed clients and Lambda ARN into the manifest; True if it changed.

    `values` has discovery_url, client_id (machine client), user_client_id (user-login client; user
    access tokens carry it in client_id), lambda_arn (WarrantyCheck) and account_lambda_arn
    (AccountTools), optionally web_client_id (the web chat's
    client, allowed too) and, all three or none, edge_secret_arn, edge_nonce_table and
    edge_policy_arn (edge grants: scripts/deploy/manifest_edge.py) and, both or none, feedback_table
    and feedback_policy_arn (answer ratings: scripts/deploy/manifest_feedback.py). Raises
    ValueError/LookupError without touching the file when a value or the manifest's structure is not
    as expected.
    """
    return bool(configure_changes(project_dir, values))
