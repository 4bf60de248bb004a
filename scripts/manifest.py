#!/usr/bin/env python3
"""Checks and fills in agentcore/agentcore.json where the agentcore CLI does not.

``agentcore validate`` checks the manifest's JSON schema only. ``check`` adds what this project
depends on beyond the schema:

- every runtime's ``codeLocation`` directory and (CodeZip) ``entrypoint`` file exist;
- every local ``toolSchemaFile`` exists and holds a Gateway tool-definition array (the
  ``ToolDefinition``/``SchemaDefinition`` shapes of the bedrock-agentcore-control API);
- every Lambda target ARN looks like a Lambda function ARN;
- every runtime is CUSTOM_JWT and allow-lists the ``Authorization`` header (the agent forwards the
  caller's token to the gateway and reads its identity from it);
- every gateway is CUSTOM_JWT, trusts the same issuer (``discoveryUrl``) as the runtime, and allows
  every client/audience/scope the runtime allows, else forwarded tokens are rejected;
- the runtime's ``AUTH_*`` envVars (the agent's own JWT check in the deployed bundle, which holds
  no manifest) equal its authorizer, and envVars do not set what the deployment sets;
- every ``AGENTCORE_GATEWAY_*``/``MEMORY_*_ID`` name the agent's code reads (module-level string
  constants) is one the deployment sets for the manifest's gateways and memories.

``configure`` writes the deployment-specific values (issuer, allowed clients, warranty Lambda ARN)
into the runtime and gateway authorizers, the runtime's ``AUTH_*`` envVars and the WarrantyCheck
target, changing nothing else. It keeps key order and the CLI's formatting (``JSON.stringify(spec,
null, 2)``), writes only when something changes, and replaces the file atomically.

Usage:
  python3 scripts/manifest.py check [--project DIR]
  python3 scripts/manifest.py configure --discovery-url URL --client-id ID --user-client-id ID
                                        --lambda-arn ARN [--web-client-id ID] [--project DIR]

DIR is the project root (the directory holding agentcore/); the default is this repository.
Standard library only, Python 3.10+.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MANIFEST = Path("agentcore") / "agentcore.json"

# What configure fills in.
RUNTIME_NAME = "CustomerSupport"
GATEWAY_NAME = "my-gateway-secure"
TARGET_NAME = "WarrantyCheck"
CONFIGURE_KEYS = ("discovery_url", "client_id", "user_client_id", "lambda_arn")
OPTIONAL_KEYS = ("web_client_id",)  # the web chat's client; its access tokens carry it in client_id

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
LAMBDA_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}"
    r"(?::(?:\$LATEST|[A-Za-z0-9_-]{1,128}))?"
)

# Gateway tool definitions: the ToolDefinition and SchemaDefinition shapes of the
# bedrock-agentcore-control API model (tests/test_manifest.py keeps these equal to botocore's copy).
TOOL_FIELDS = ("name", "description", "inputSchema", "outputSchema")
TOOL_REQUIRED = ("name", "description", "inputSchema")
SCHEMA_FIELDS = ("type", "properties", "required", "items", "description")
SCHEMA_REQUIRED = ("type",)
SCHEMA_TYPES = ("string", "number", "object", "array", "boolean", "integer")

# The agent's own JWT check reads its authorizer from these variables (settings.load_auth_settings).
AUTH_MODE_ENV = "AUTH_MODE"
AUTH_MODES_DEPLOYED = ("enforce", "trust-runtime")  # "off" serves anonymous callers: local use only
AUTH_DISCOVERY_ENV = "AUTH_DISCOVERY_URL"
AUTH_LIST_ENV = {
    "allowedClients": "AUTH_ALLOWED_CLIENTS",
    "allowedAudience": "AUTH_ALLOWED_AUDIENCE",
    "allowedScopes": "AUTH_ALLOWED_SCOPES",
}
# Names the deployment provides, as the agent's code spells them.
DEPLOYMENT_NAME = re.compile(r"AGENTCORE_GATEWAY_[A-Z0-9_]+_URL|MEMORY_[A-Z0-9_]+_ID")


# --------------------------------------------------------------------------------------- reading


def manifest_path(project_dir: str | os.PathLike[str]) -> Path:
    """agentcore/agentcore.json of the project rooted at `project_dir`."""
    return Path(project_dir) / MANIFEST


def load(project_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed manifest (key order kept)."""
    spec = json.loads(manifest_path(project_dir).read_text(encoding="utf-8"))
    if not isinstance(spec, dict):
        raise ValueError(f"{manifest_path(project_dir)} does not hold a JSON object")
    return spec


def _items(container: Any, key: str) -> list[dict[str, Any]]:
    value = container.get(key) if isinstance(container, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _jwt(resource: dict[str, Any]) -> dict[str, Any] | None:
    """The customJwtAuthorizer of a CUSTOM_JWT resource, else None."""
    if resource.get("authorizerType") != "CUSTOM_JWT":
        return None
    config = resource.get("authorizerConfiguration")
    jwt = config.get("customJwtAuthorizer") if isinstance(config, dict) else None
    return jwt if isinstance(jwt, dict) else None


def _list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _resolve(project: Path, location: str) -> Path:
    # As the agentcore CLI and CDK app do: relative to the project root (the parent of agentcore/).
    return Path(location) if Path(location).is_absolute() else project / location


def gateway_url_env(gateway_name: str) -> str:
    """The variable the deployment sets to a gateway's URL (see AgentCoreMcp in @aws/agentcore-cdk)."""
    return f"AGENTCORE_GATEWAY_{gateway_name.upper().replace('-', '_')}_URL"


def memory_id_env(memory_name: str) -> str:
    """The variable the deployment sets to a memory's id (see AgentCoreMemory in @aws/agentcore-cdk)."""
    return f"MEMORY_{memory_name.upper()}_ID"


def deployment_env_vars(spec: Mapping[str, Any]) -> dict[str, str]:
    """Every variable `agentcore deploy` (and `agentcore dev`) gives the runtimes, with what it holds."""
    names: dict[str, str] = {}
    for gateway in _items(spec, "agentCoreGateways"):
        name = str(gateway.get("name", ""))
        names[gateway_url_env(name)] = f"the URL of gateway {name}"
        names[gateway_url_env(name).removesuffix("_URL") + "_AUTH_TYPE"] = f"the auth type of gateway {name}"
    for memory in _items(spec, "memories"):
        name = str(memory.get("name", ""))
        names[memory_id_env(name)] = f"the id of memory {name}"
    return names


def agent_env_reads(code_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Deployment-provided names the code in `code_dir` reads: {variable: "file: CONSTANT"}.

    Found as module-level string constants (``GATEWAY_URL_ENV = "AGENTCORE_GATEWAY_..._URL"``) in the
    code's .py files, outside hidden directories such as .venv.
    """
    root = Path(code_dir)
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts[:-1]):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (OSError, UnicodeDecodeError, SyntaxError):
            continue
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            value = getattr(node, "value", None)
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                continue
            if not DEPLOYMENT_NAME.fullmatch(value.value):
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    found.setdefault(value.value, f"{relative.as_posix()}: {target.id}")
    return found


# --------------------------------------------------------------------------------------- check


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
    return problems


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
    return problems


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


# --------------------------------------------------------------------------------------- configure


def _validate_values(values: Mapping[str, str]) -> dict[str, str]:
    missing = [key for key in CONFIGURE_KEYS if not values.get(key)]
    if missing:
        raise ValueError(f"missing value(s): {', '.join(missing)}")
    clean = {key: str(values[key]).strip() for key in CONFIGURE_KEYS}
    clean.update({key: str(values[key]).strip() for key in OPTIONAL_KEYS if values.get(key)})
    url = clean["discovery_url"]
    if not (url.startswith("https://") and url.endswith(DISCOVERY_SUFFIX)) or re.search(r"\s", url):
        raise ValueError(f"discovery URL {url!r} must be an https URL ending in {DISCOVERY_SUFFIX}")
    for key in ("client_id", "user_client_id", *(k for k in OPTIONAL_KEYS if k in clean)):
        if re.search(r"[\s,]", clean[key]):
            raise ValueError(f"{key} {clean[key]!r} must not contain whitespace or commas")
    if not LAMBDA_ARN.fullmatch(clean["lambda_arn"]):
        raise ValueError(f"{clean['lambda_arn']!r} is not a Lambda function ARN")
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
    target = _named(gateway.get("targets"), TARGET_NAME, f"target of gateway {GATEWAY_NAME}")
    lambda_config = target.get("lambdaFunctionArn")
    if target.get("targetType") != "lambdaFunctionArn" or not isinstance(lambda_config, dict):
        raise LookupError(f"target {TARGET_NAME} of gateway {GATEWAY_NAME} is not a lambdaFunctionArn target")
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

    _set(
        lambda_config,
        "lambdaArn",
        v["lambda_arn"],
        f"agentCoreGateways[{GATEWAY_NAME}].targets[{TARGET_NAME}].lambdaFunctionArn.lambdaArn",
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
    access tokens carry it in client_id) and lambda_arn, optionally web_client_id (the web chat's
    client, allowed too). Raises ValueError/LookupError without
    touching the file when a value or the manifest's structure is not as expected.
    """
    return bool(configure_changes(project_dir, values))


# --------------------------------------------------------------------------------------- CLI


def main(argv: Iterable[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="manifest.py", description="Check or configure agentcore/agentcore.json beyond its schema."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check_cmd = commands.add_parser(
        "check", help="report problems agentcore validate does not (exit 1 if any)"
    )
    configure_cmd = commands.add_parser("configure", help="write deployment values into the manifest")
    for sub in (check_cmd, configure_cmd):
        sub.add_argument("--project", default=str(PROJECT_ROOT), help="project root (holds agentcore/)")
    configure_cmd.add_argument("--discovery-url", required=True, help="OIDC discovery URL of the user pool")
    configure_cmd.add_argument("--client-id", required=True, help="machine (client_credentials) client id")
    configure_cmd.add_argument("--user-client-id", required=True, help="user-login client id")
    configure_cmd.add_argument("--lambda-arn", required=True, help="ARN of the WarrantyCheck Lambda")
    configure_cmd.add_argument("--web-client-id", help="web chat client id (also allowed, if given)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    path = manifest_path(args.project)

    if args.command == "check":
        problems = check(args.project)
        if problems:
            print(f"manifest check: {len(problems)} problem(s) in {path}:", file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
            return 1
        print(f"manifest check: OK ({path})")
        return 0

    values = {key: getattr(args, key) for key in (*CONFIGURE_KEYS, *OPTIONAL_KEYS) if getattr(args, key)}
    try:
        changes = configure_changes(args.project, values)
    except (OSError, ValueError, LookupError) as error:
        print(f"manifest configure: error: {error}", file=sys.stderr)
        return 1
    if changes:
        print(f"updated {path}:")
        for change in changes:
            print(f"  {change}")
    else:
        print(f"unchanged: {path} already holds these values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
