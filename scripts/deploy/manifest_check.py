"""``check``: the manifest's rules beyond the CLI's schema (listed in manifest.py); standard library only."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scripts.deploy import manifest_edge, manifest_feedback
from scripts.deploy.manifest_spec import (
    AUTH_DISCOVERY_ENV,
    AUTH_LIST_ENV,
    AUTH_MODE_ENV,
    AUTH_MODES_DEPLOYED,
    CUSTOMER_ID,
    LAMBDA_ARN,
    SCHEMA_FIELDS,
    SCHEMA_TYPES,
    TOOL_FIELDS,
    TOOL_REQUIRED,
    _items,
    _jwt,
    _list,
    _resolve,
    agent_env_reads,
    deployment_env_vars,
    load,
    manifest_path,
)


def tool_schema_problems(tools: Any, where: str) -> list[str]:
    """What keeps `tools` from being a Gateway tool-definition array ([] if nothing)."""
    if not isinstance(tools, list):
        return [f"{where} must hold a JSON array of tool definitions, not {type(tools).__name__}"]
    if not tools:
        return [f"{where} defines no tools"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        at = f"{where} tool [{index}]"
        if not isinstance(tool, dict):
            problems.append(f"{at} must be an object")
            continue
        unknown = sorted(set(tool) - set(TOOL_FIELDS))
        if unknown:
            problems.append(f"{at} has fields the gateway does not accept: {', '.join(unknown)}")
        for key in TOOL_REQUIRED:
            if key not in tool:
                problems.append(f"{at} lacks the required field {key}")
        for key in ("name", "description"):
            if key in tool and not (isinstance(tool[key], str) and tool[key].strip()):
                problems.append(f"{at}: {key} must be a non-empty string")
        name = tool.get("name")
        if isinstance(name, str) and name:
            at = f"{where} tool {name}"
            if name in seen:
                problems.append(f"{at} is defined twice")
            seen.add(name)
        for key in ("inputSchema", "outputSchema"):
            if key in tool:
                problems.extend(_schema_problems(tool[key], f"{at} {key}"))
    return problems


def _schema_problems(schema: Any, at: str) -> list[str]:
    if not isinstance(schema, dict):
        return [f"{at} must be an object"]
    problems: list[str] = []
    unknown = sorted(set(schema) - set(SCHEMA_FIELDS))
    if unknown:
        problems.append(
            f"{at} has keys the gateway does not accept: {', '.join(unknown)} "
            f"(allowed: {', '.join(SCHEMA_FIELDS)})"
        )
    if "type" not in schema:
        problems.append(f"{at} lacks the required key type")
    elif schema["type"] not in SCHEMA_TYPES:
        problems.append(f"{at}: type {schema['type']!r} is not one of {', '.join(SCHEMA_TYPES)}")
    if "description" in schema and not isinstance(schema["description"], str):
        problems.append(f"{at}: description must be a string")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        problems.append(f"{at}: properties must be an object")
        properties = {}
    for name, sub in properties.items():
        problems.extend(_schema_problems(sub, f"{at}.properties.{name}"))
    required = schema.get("required", [])
    if not (isinstance(required, list) and all(isinstance(r, str) for r in required)):
        problems.append(f"{at}: required must be an array of property names")
    else:
        missing = [r for r in required if r not in properties]
        if missing:
            problems.append(f"{at}: required names undefined properties: {', '.join(missing)}")
    if "items" in schema:
        problems.extend(_schema_problems(schema["items"], f"{at}.items"))
    return problems


def _check_runtime(project: Path, runtime: dict[str, Any], deployment_names: Mapping[str, str]) -> list[str]:
    label = f"runtime {runtime.get('name')}"
    problems: list[str] = []

    location = runtime.get("codeLocation")
    code_dir = _resolve(project, location) if isinstance(location, str) and location else None
    if code_dir is None or not code_dir.is_dir():
        problems.append(f"{label}: codeLocation {location!r} is not a directory under {project}")
    elif runtime.get("build") != "Container":
        entrypoint = runtime.get("entrypoint")
        file = entrypoint.split(":", 1)[0] if isinstance(entrypoint, str) else ""
        if not file or not (code_dir / file).is_file():
            problems.append(f"{label}: entrypoint {entrypoint!r} is not a file in {location}")

    headers = _list(runtime.get("requestHeaderAllowlist"))
    if "authorization" not in {h.lower() for h in headers}:
        problems.append(
            f"{label}: requestHeaderAllowlist must contain Authorization, or the agent never sees the "
            "caller's token (it needs it for the caller's identity and to call the gateway)"
        )

    jwt = _jwt(runtime)
    if jwt is None:
        problems.append(
            f"{label}: authorizerType must be CUSTOM_JWT with a customJwtAuthorizer (it is "
            f"{runtime.get('authorizerType', 'unset')!r}); only CUSTOM_JWT may forward Authorization"
        )

    env_entries = _items(runtime, "envVars")
    names = [str(e.get("name")) for e in env_entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"{label}: envVars sets {', '.join(duplicates)} more than once")
    env = {str(e.get("name")): e.get("value") for e in env_entries}
    for name in sorted(set(env) & set(deployment_names)):
        problems.append(
            f"{label}: envVars must not set {name}: the deployment sets it to {deployment_names[name]}"
        )

    mode = env.get(AUTH_MODE_ENV)
    if mode is not None and str(mode).strip().lower() not in AUTH_MODES_DEPLOYED:
        problems.append(
            f"{label}: envVars {AUTH_MODE_ENV}={mode!r} turns the agent's token check off; "
            f"use one of {', '.join(AUTH_MODES_DEPLOYED)}"
        )
    if jwt is not None:
        why = "the agent's own token check reads the authorizer from it in the deployed bundle"
        discovery = jwt.get("discoveryUrl")
        if env.get(AUTH_DISCOVERY_ENV) != discovery:
            problems.append(
                f"{label}: envVars {AUTH_DISCOVERY_ENV} is {env.get(AUTH_DISCOVERY_ENV)!r} but the "
                f"authorizer's discoveryUrl is {discovery!r} ({why})"
            )
        for key, env_name in AUTH_LIST_ENV.items():
            expected = _list(jwt.get(key))
            raw = env.get(env_name)
            actual = [v.strip() for v in str(raw).split(",") if v.strip()] if raw is not None else None
            if expected and actual is None:
                problems.append(f"{label}: envVars lacks {env_name} (the authorizer's {key}; {why})")
            elif actual is not None and set(actual) != set(expected):
                problems.append(
                    f"{label}: envVars {env_name} is {','.join(actual)!r} but the authorizer's {key} is "
                    f"{','.join(expected)!r} ({why})"
                )
    edge = manifest_edge.problems(runtime, env, _list((jwt or {}).get("allowedClients")), label)
    return problems + edge + manifest_feedback.problems(runtime, env, label)


def _check_gateway(project: Path, gateway: dict[str, Any], runtimes: list[dict[str, Any]]) -> list[str]:
    label = f"gateway {gateway.get('name')}"
    problems: list[str] = []
    jwt = _jwt(gateway)
    if jwt is None:
        problems.append(
            f"{label}: authorizerType must be CUSTOM_JWT with a customJwtAuthorizer (it is "
            f"{gateway.get('authorizerType', 'unset')!r}): the agent calls it with the caller's JWT"
        )
    for runtime in runtimes:
        runtime_jwt = _jwt(runtime)
        if jwt is None or runtime_jwt is None:
            continue
        pair = f"{label} and runtime {runtime.get('name')}"
        if jwt.get("discoveryUrl") != runtime_jwt.get("discoveryUrl"):
            problems.append(
                f"{pair} trust different issuers ({jwt.get('discoveryUrl')!r} vs "
                f"{runtime_jwt.get('discoveryUrl')!r}): no token the runtime accepts passes the gateway"
            )
            continue
        for key in AUTH_LIST_ENV:
            gateway_allows, runtime_allows = _list(jwt.get(key)), _list(runtime_jwt.get(key))
            if not gateway_allows:
                continue
            if not runtime_allows:
                problems.append(
                    f"{label} checks {key} ({', '.join(gateway_allows)}) but runtime {runtime.get('name')} "
                    "does not: tokens the runtime accepts may be rejected when forwarded"
                )
            elif not set(runtime_allows) & set(gateway_allows):
                problems.append(
                    f"{pair} share no {key} ({', '.join(gateway_allows)} vs {', '.join(runtime_allows)}): "
                    "forwarding the caller's token can never work"
                )
            elif set(runtime_allows) - set(gateway_allows):
                rejected = [v for v in runtime_allows if v not in gateway_allows]
                problems.append(
                    f"{label} rejects {key} {', '.join(rejected)} that runtime {runtime.get('name')} "
                    "accepts: those callers' forwarded tokens fail at the gateway"
                )

    for target in _items(gateway, "targets"):
        lambda_config = target.get("lambdaFunctionArn")
        if not isinstance(lambda_config, dict):
            continue
        at = f"{label} target {target.get('name')}"
        arn = lambda_config.get("lambdaArn")
        if not (isinstance(arn, str) and LAMBDA_ARN.fullmatch(arn)):
            problems.append(f"{at}: lambdaArn {arn!r} is not a Lambda function ARN")
        schema_file = lambda_config.get("toolSchemaFile")
        if not isinstance(schema_file, str) or not schema_file:
            problems.append(f"{at}: toolSchemaFile is missing")
            continue
        if schema_file.startswith("s3://"):  # used as-is by the CDK app; nothing local to read
            continue
        path = _resolve(project, schema_file)
        if not path.is_file():
            problems.append(f"{at}: toolSchemaFile {schema_file} does not exist under {project}")
            continue
        try:
            tools = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{at}: toolSchemaFile {schema_file} is not valid JSON ({error})")
            continue
        problems.extend(tool_schema_problems(tools, f"{at}: toolSchemaFile {schema_file}"))
        problems.extend(_account_tool_problems(gateway, tools, f"{at}: toolSchemaFile {schema_file}"))
    return problems


def _account_tool_problems(gateway: dict[str, Any], tools: Any, where: str) -> list[str]:
    """Tools taking a customer_id need it as a required string and an enforced Cedar policy."""
    account = [t for t in tools if isinstance(t, dict) and CUSTOMER_ID in _input_properties(t)]
    problems = [
        f"{where} tool {t.get('name')}: {CUSTOMER_ID} must be a required string (the policy compares it)"
        for t in account
        if _input_properties(t)[CUSTOMER_ID].get("type") != "string"
        or CUSTOMER_ID not in t["inputSchema"].get("required", [])
    ]
    attached = gateway.get("policyEngineConfiguration")
    if account and not (isinstance(attached, dict) and attached.get("mode") == "ENFORCE"):
        problems.append(
            f"{where}: tools that take a {CUSTOMER_ID} need the gateway's policyEngineConfiguration in "
            "ENFORCE mode, else any caller may pass any customer's id"
        )
    return problems


def _input_properties(tool: dict[str, Any]) -> dict[str, Any]:
    schema = tool.get("inputSchema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return (
        {k: v for k, v in properties.items() if isinstance(v, dict)} if isinstance(properties, dict) else {}
    )


def check(project_dir: str | os.PathLike[str]) -> list[str]:
    """Every manifest problem the agentcore CLI does not report, one sentence each ([] if none)."""
    project = Path(project_dir).resolve()
    path = manifest_path(project)
    try:
        spec = load(project)
    except FileNotFoundError:
        return [f"{path} does not exist"]
    except (OSError, UnicodeDecodeError, ValueError) as error:  # JSONDecodeError is a ValueError
        return [f"{path} is not a readable JSON object ({error})"]

    runtimes = _items(spec, "runtimes")
    deployment_names = deployment_env_vars(spec)
    problems: list[str] = []
    if not runtimes:
        problems.append(f"{path} declares no runtime")
    for runtime in runtimes:
        problems.extend(_check_runtime(project, runtime, deployment_names))
    for gateway in _items(spec, "agentCoreGateways"):
        problems.extend(_check_gateway(project, gateway, runtimes))

    for runtime in runtimes:
        location = runtime.get("codeLocation")
        code_dir = _resolve(project, location) if isinstance(location, str) and location else None
        if code_dir is None or not code_dir.is_dir():
            continue
        for name, where in sorted(agent_env_reads(code_dir).items()):
            if name not in deployment_names:
                sets = ", ".join(sorted(n for n in deployment_names if not n.endswith("_AUTH_TYPE")))
                source = f"{str(location).rstrip('/')}/{where}"
                problems.append(
                    f"runtime {runtime.get('name')}: {source} reads {name}, which the "
                    f"deployment does not set (it sets {sets or 'no gateway or memory variables'})"
                )
    return problems
