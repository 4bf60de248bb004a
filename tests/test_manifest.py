"""scripts/deploy/manifest.py: the manifest invariants the agentcore CLI does not check, and `configure`.

Every invariant is shown to hold on the repository and to fail on a mutated copy of the project (the
repository's own agentcore.json is never written). The env var names the agent reads are compared with
app/CustomerSupport/settings.py, and the AUTH_* envVars with what settings.load_auth_settings makes of
them.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import settings
from scripts.deploy import manifest
from tests.support.project import copy_project
from tests.support.shapes import check_shape, service_shapes

REPO = Path(__file__).resolve().parents[1]
MANIFEST_PY = REPO / "scripts" / "deploy" / "manifest.py"
VALUES = {
    "discovery_url": (
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/openid-configuration"
    ),
    "client_id": "1example23456789machine000",
    "user_client_id": "7example98765432userlogin0",
    "lambda_arn": "arn:aws:lambda:eu-west-1:210987654321:function:cs-prod-warranty-check",
    "account_lambda_arn": "arn:aws:lambda:eu-west-1:210987654321:function:cs-prod-account-tools",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def read_spec(project: Path) -> dict[str, Any]:
    return json.loads((project / "agentcore" / "agentcore.json").read_text(encoding="utf-8"))


def write_spec(project: Path, spec: dict[str, Any]) -> None:
    (project / "agentcore" / "agentcore.json").write_text(manifest.render(spec), encoding="utf-8")


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (item,) = [i for i in items if i["name"] == name]
    return item


def runtime(spec: dict[str, Any]) -> dict[str, Any]:
    return named(spec["runtimes"], "CustomerSupport")


def gateway(spec: dict[str, Any]) -> dict[str, Any]:
    return named(spec["agentCoreGateways"], "my-gateway-secure")


def runtime_jwt(spec: dict[str, Any]) -> dict[str, Any]:
    return runtime(spec)["authorizerConfiguration"]["customJwtAuthorizer"]


def gateway_jwt(spec: dict[str, Any]) -> dict[str, Any]:
    return gateway(spec)["authorizerConfiguration"]["customJwtAuthorizer"]


def env_entry(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return named(runtime(spec)["envVars"], name)


def warranty_tools(project: Path) -> list[dict[str, Any]]:
    return json.loads((project / "tool_schemas" / "warranty_check.json").read_text())


def write_tools(project: Path, tools: Any) -> None:
    (project / "tool_schemas" / "warranty_check.json").write_text(json.dumps(tools, indent=2))


# ------------------------------------------------------------------------------------- invariants


def test_invariants_hold_on_the_repository() -> None:
    assert manifest.check(REPO) == []


def test_repository_manifest_is_in_the_cli_format() -> None:
    # configure re-serialises the file; that only leaves unconfigured bytes alone if the file already
    # is JSON.stringify(spec, null, 2) without a trailing newline, as the CLI writes it.
    text = (REPO / "agentcore" / "agentcore.json").read_text(encoding="utf-8")
    assert manifest.render(json.loads(text)) == text
    assert not text.endswith("\n")


Mutation = Callable[[Path, dict[str, Any]], object]  # what it returns is ignored


def _set_runtime(key: str, value: Any) -> Mutation:
    return lambda project, spec: runtime(spec).__setitem__(key, value)


def _set_env(name: str, value: str) -> Mutation:
    return lambda project, spec: env_entry(spec, name).__setitem__("value", value)


def _drop_env(name: str) -> Mutation:
    def mutate(project: Path, spec: dict[str, Any]) -> None:
        runtime(spec)["envVars"] = [e for e in runtime(spec)["envVars"] if e["name"] != name]

    return mutate


def _add_env(name: str, value: str) -> Mutation:
    return lambda project, spec: runtime(spec)["envVars"].append({"name": name, "value": value})


def _tools(edit: Callable[[list[dict[str, Any]]], Any]) -> Mutation:
    """Edit the warranty tool schema file in place (edit's return value is ignored)."""

    def mutate(project: Path, spec: dict[str, Any]) -> None:
        tools = warranty_tools(project)
        edit(tools)
        write_tools(project, tools)

    return mutate


def _account_tools(edit: Callable[[list[dict[str, Any]]], Any]) -> Mutation:
    """Edit the account tools' schema file in place."""

    def mutate(project: Path, spec: dict[str, Any]) -> None:
        path = project / "tool_schemas" / "account_tools.json"
        tools = json.loads(path.read_text())
        edit(tools)
        path.write_text(json.dumps(tools))

    return mutate


def _tools_replaced(replace: Callable[[list[dict[str, Any]]], Any]) -> Mutation:
    """Replace the warranty tool schema file's content with what `replace` returns."""
    return lambda project, spec: write_tools(project, replace(warranty_tools(project)))


def _input_schema(tools: list[dict[str, Any]]) -> dict[str, Any]:
    return tools[0]["inputSchema"]


def _no_authorizer(resource: Callable[[dict[str, Any]], dict[str, Any]], kind: str) -> Mutation:
    def mutate(project: Path, spec: dict[str, Any]) -> None:
        resource(spec)["authorizerType"] = kind
        del resource(spec)["authorizerConfiguration"]

    return mutate


def _two_runtime_clients_gateway_one(project: Path, spec: dict[str, Any]) -> None:
    runtime_jwt(spec)["allowedClients"] = ["machineclient", "userclient"]
    env_entry(spec, "AUTH_ALLOWED_CLIENTS")["value"] = "machineclient,userclient"
    gateway_jwt(spec)["allowedClients"] = ["machineclient"]


def _gateway_audience_instead_of_clients(project: Path, spec: dict[str, Any]) -> None:
    del gateway_jwt(spec)["allowedClients"]
    gateway_jwt(spec)["allowedAudience"] = ["customersupport"]


def _write_module(relative: str, text: str) -> Mutation:
    def write(project: Path, spec: dict[str, Any]) -> None:
        (project / "app" / "CustomerSupport" / relative).write_text(text)

    return write


MUTATIONS: list[tuple[str, Mutation, str]] = [
    ("code location missing", _set_runtime("codeLocation", "app/Missing/"), "codeLocation 'app/Missing/'"),
    ("entrypoint missing", _set_runtime("entrypoint", "agent.py"), "entrypoint 'agent.py' is not a file"),
    (
        "tool schema file missing",
        lambda project, spec: (project / "tool_schemas" / "warranty_check.json").unlink(),
        "toolSchemaFile tool_schemas/warranty_check.json does not exist",
    ),
    (
        "tool schema not JSON",
        lambda project, spec: (project / "tool_schemas" / "warranty_check.json").write_text("[{"),
        "is not valid JSON",
    ),
    (
        "tool schema not an array",
        _tools_replaced(lambda tools: tools[0]),
        "must hold a JSON array of tool definitions",
    ),
    ("tool schema empty", _tools_replaced(lambda tools: []), "defines no tools"),
    (
        "tool without description",
        _tools(lambda tools: tools[0].pop("description")),
        "required field description",
    ),
    (
        "tool with blank description",
        _tools(lambda tools: tools[0].update(description=" ")),
        "non-empty string",
    ),
    (
        "tool without inputSchema",
        _tools(lambda tools: tools[0].pop("inputSchema")),
        "required field inputSchema",
    ),
    (
        "tool with unknown field",
        _tools(lambda tools: tools[0].update(annotations={"readOnlyHint": True})),
        "fields the gateway does not accept: annotations",
    ),
    (
        "JSON-schema key the gateway lacks",
        _tools(lambda tools: _input_schema(tools).update(additionalProperties=False)),
        "keys the gateway does not accept: additionalProperties",
    ),
    (
        "nested enum",
        _tools(lambda tools: _input_schema(tools)["properties"]["product_id"].update(enum=["PROD-001"])),
        "inputSchema.properties.product_id has keys the gateway does not accept: enum",
    ),
    (
        "unknown type",
        _tools(lambda tools: _input_schema(tools)["properties"]["purchase_date"].update(type="null")),
        "type 'null' is not one of",
    ),
    (
        "schema without type",
        _tools(lambda tools: _input_schema(tools).pop("type")),
        "inputSchema lacks the required key type",
    ),
    (
        "required names no property",
        _tools(lambda tools: _input_schema(tools)["required"].append("serial_number")),
        "required names undefined properties: serial_number",
    ),
    (
        "bad outputSchema",
        _tools(lambda tools: tools[0].update(outputSchema={"type": "object", "properties": {"x": []}})),
        "outputSchema.properties.x must be an object",
    ),
    ("duplicate tool", _tools_replaced(lambda tools: tools + [copy.deepcopy(tools[0])]), "is defined twice"),
    (
        "Lambda ARN malformed",
        lambda project, spec: gateway(spec)["targets"][0]["lambdaFunctionArn"].update(
            lambdaArn="customersupport-warranty-check"
        ),
        "is not a Lambda function ARN",
    ),
    (
        "Authorization not allow-listed",
        _set_runtime("requestHeaderAllowlist", ["X-Amzn-Bedrock-AgentCore-Runtime-Custom-Trace"]),
        "requestHeaderAllowlist must contain Authorization",
    ),
    (
        "no header allow-list",
        lambda project, spec: runtime(spec).pop("requestHeaderAllowlist"),
        "requestHeaderAllowlist must contain Authorization",
    ),
    ("runtime not CUSTOM_JWT", _no_authorizer(runtime, "AWS_IAM"), "runtime CustomerSupport: authorizerType"),
    ("gateway not CUSTOM_JWT", _no_authorizer(gateway, "NONE"), "gateway my-gateway-secure: authorizerType"),
    (
        "gateway trusts another issuer",
        lambda project, spec: gateway_jwt(spec).update(
            discoveryUrl="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OTHER/.well-known/openid-configuration"
        ),
        "trust different issuers",
    ),
    (
        "gateway shares no client",
        lambda project, spec: gateway_jwt(spec).update(allowedClients=["someotherclient"]),
        "forwarding the caller's token can never work",
    ),
    (
        "gateway rejects a runtime client",
        _two_runtime_clients_gateway_one,
        "rejects allowedClients userclient that runtime CustomerSupport accepts",
    ),
    (
        "gateway checks audience, runtime does not",
        _gateway_audience_instead_of_clients,
        "checks allowedAudience (customersupport) but runtime CustomerSupport does not",
    ),
    (
        "AUTH_DISCOVERY_URL differs",
        _set_env("AUTH_DISCOVERY_URL", "https://login.example.com/.well-known/openid-configuration"),
        "envVars AUTH_DISCOVERY_URL is 'https://login.example.com",
    ),
    ("AUTH_DISCOVERY_URL missing", _drop_env("AUTH_DISCOVERY_URL"), "envVars AUTH_DISCOVERY_URL is None"),
    (
        "AUTH_ALLOWED_CLIENTS differs",
        _set_env("AUTH_ALLOWED_CLIENTS", "EXAMPLEmachineclientid000000,stranger"),
        "envVars AUTH_ALLOWED_CLIENTS is 'EXAMPLEmachineclientid000000,stranger'",
    ),
    ("AUTH_ALLOWED_CLIENTS missing", _drop_env("AUTH_ALLOWED_CLIENTS"), "envVars lacks AUTH_ALLOWED_CLIENTS"),
    (
        "AUTH_ALLOWED_AUDIENCE without authorizer audience",
        _add_env("AUTH_ALLOWED_AUDIENCE", "customersupport"),
        "envVars AUTH_ALLOWED_AUDIENCE is 'customersupport' but the authorizer's allowedAudience is ''",
    ),
    ("AUTH_MODE off", _set_env("AUTH_MODE", "off"), "AUTH_MODE='off' turns the agent's token check off"),
    ("envVar set twice", _add_env("AUTH_MODE", "enforce"), "envVars sets AUTH_MODE more than once"),
    (
        "envVar shadows a deployment variable",
        _add_env("MEMORY_CUSTOMERSUPPORTMEMORY_ID", "mem-placeholder"),
        "must not set MEMORY_CUSTOMERSUPPORTMEMORY_ID: the deployment sets it to the id of memory",
    ),
    (
        "gateway renamed",
        lambda project, spec: gateway(spec).update(name="warranty-gateway"),
        "settings.py: GATEWAY_URL_ENV reads AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL, which the deployment "
        "does not set (it sets AGENTCORE_GATEWAY_WARRANTY_GATEWAY_URL, MEMORY_CUSTOMERSUPPORTMEMORY_ID)",
    ),
    (
        "memory renamed",
        lambda project, spec: spec["memories"][0].update(name="SupportMemory"),
        "settings.py: MEMORY_ID_ENV reads MEMORY_CUSTOMERSUPPORTMEMORY_ID, which the deployment does not set",
    ),
    (
        "another module reads an unknown memory",
        _write_module("memory/extra.py", 'ARCHIVE_MEMORY_ENV = "MEMORY_ARCHIVE_ID"\n'),
        "memory/extra.py: ARCHIVE_MEMORY_ENV reads MEMORY_ARCHIVE_ID",
    ),
    (
        "account tools without an enforced policy engine",
        lambda project, spec: gateway(spec)["policyEngineConfiguration"].update(mode="LOG_ONLY"),
        "tools that take a customer_id need the gateway's policyEngineConfiguration in ENFORCE mode",
    ),
    (
        "account tools with no policy engine at all",
        lambda project, spec: gateway(spec).pop("policyEngineConfiguration"),
        "tools that take a customer_id need the gateway's policyEngineConfiguration in ENFORCE mode",
    ),
    (
        "an account tool whose customer_id is optional",
        _account_tools(lambda tools: tools[1]["inputSchema"]["required"].remove("customer_id")),
        "tool get_order: customer_id must be a required string (the policy compares it)",
    ),
    (
        "manifest missing",
        lambda project, spec: (project / "agentcore" / "agentcore.json").unlink(),
        "agentcore.json does not exist",
    ),
    (
        "manifest not JSON",
        lambda project, spec: (project / "agentcore" / "agentcore.json").write_text('{"runtimes": ['),
        "is not a readable JSON object",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_each_invariant_fails_on_a_mutated_copy(project: Path, mutate: Mutation, expected: str) -> None:
    assert manifest.check(project) == []
    pristine = read_spec(project)
    spec = copy.deepcopy(pristine)
    mutate(project, spec)
    if spec != pristine:  # else the mutation changed files, maybe the manifest file itself
        write_spec(project, spec)
    problems = manifest.check(project)
    assert len(problems) == 1, problems  # exactly the broken invariant, nothing collateral
    assert expected in problems[0], problems[0]


ACCEPTED: list[tuple[str, Mutation]] = [
    ("authorization in lower case", _set_runtime("requestHeaderAllowlist", ["authorization"])),
    ("entrypoint with a handler", _set_runtime("entrypoint", "main.py:app")),
    (
        "tool schema already in S3",
        lambda project, spec: gateway(spec)["targets"][0]["lambdaFunctionArn"].update(
            toolSchemaFile="s3://schemas-bucket/warranty_check.json"
        ),
    ),
    (
        "gateway allows more clients than the runtime",
        lambda project, spec: gateway_jwt(spec)["allowedClients"].append("anotherclient"),
    ),
    ("AUTH_ALLOWED_CLIENTS with spaces", _set_env("AUTH_ALLOWED_CLIENTS", " EXAMPLEmachineclientid000000 ")),
    ("AUTH_MODE trust-runtime", _set_env("AUTH_MODE", "trust-runtime")),
    (
        "Lambda ARN with an alias",
        lambda project, spec: gateway(spec)["targets"][0]["lambdaFunctionArn"].update(
            lambdaArn="arn:aws:lambda:us-east-1:123456789012:function:warranty:live"
        ),
    ),
    (
        "constants in a virtualenv are not the agent's",
        _write_module(".venv/lib.py", 'X = "MEMORY_OTHER_ID"\n'),
    ),
]


@pytest.mark.parametrize("mutate", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_valid_variants_pass(project: Path, mutate: Mutation) -> None:
    spec = read_spec(project)
    (project / "app" / "CustomerSupport" / ".venv").mkdir(exist_ok=True)
    mutate(project, spec)
    write_spec(project, spec)
    assert manifest.check(project) == []


def test_every_problem_is_reported_at_once(project: Path) -> None:
    spec = read_spec(project)
    runtime(spec)["requestHeaderAllowlist"] = []
    env_entry(spec, "AUTH_MODE")["value"] = "off"
    gateway(spec)["targets"][0]["lambdaFunctionArn"]["lambdaArn"] = "not-an-arn"
    write_spec(project, spec)
    problems = manifest.check(project)
    assert len(problems) == 3
    assert "Authorization" in problems[0]
    assert "AUTH_MODE" in problems[1]
    assert "not-an-arn" in problems[2]


# ------------------------------------------------------------------------------------- tool schema rules


def test_tool_schema_rules_are_the_gateway_api_model() -> None:
    # the manifest tooling is stdlib-only, so it carries the ToolDefinition shape as constants; they must
    # stay those of the bedrock-agentcore-control model shipped with botocore.
    shapes = service_shapes()
    tool, schema = shapes["ToolDefinition"], shapes["SchemaDefinition"]
    assert set(manifest.TOOL_FIELDS) == set(tool["members"])
    assert set(manifest.TOOL_REQUIRED) == set(tool["required"])
    assert {tool["members"][k]["shape"] for k in ("inputSchema", "outputSchema")} == {"SchemaDefinition"}
    assert set(manifest.SCHEMA_FIELDS) == set(schema["members"])
    assert set(manifest.SCHEMA_REQUIRED) == set(schema["required"])
    assert tuple(shapes[schema["members"]["type"]["shape"]]["enum"]) == manifest.SCHEMA_TYPES


def _valid_by_model(tools: Any) -> bool:
    try:
        check_shape(tools, "ToolDefinitions", service_shapes(), "tools")
    except AssertionError:
        return False
    return True


def _schema_variants() -> list[Any]:
    base = json.loads((REPO / "tool_schemas" / "warranty_check.json").read_text())
    variants: list[Any] = [base, base[0], [base[0], "tool"]]
    for key in ("name", "description", "inputSchema"):
        variants.append([{k: v for k, v in base[0].items() if k != key}])
    edits: list[Callable[[dict[str, Any]], Any]] = [
        lambda t: t.update(outputSchema={"type": "object"}),
        lambda t: t.update(title="x"),
        lambda t: t.update(inputSchema=[]),
        lambda t: t["inputSchema"].update(type="null"),
        lambda t: t["inputSchema"].update(type=["object"]),
        lambda t: t["inputSchema"].update(description=3),
        lambda t: t["inputSchema"].update(properties=[]),
        lambda t: t["inputSchema"].update(required="product_id"),
        lambda t: t["inputSchema"].update(required=[1]),
        lambda t: t["inputSchema"].update(items={"type": "string"}),
        lambda t: t["inputSchema"].update(items={"type": "string", "format": "date"}),
        lambda t: t["inputSchema"].update(oneOf=[]),
        lambda t: t["inputSchema"].update(default={}),
        lambda t: t["inputSchema"]["properties"].update(tags={"type": "array", "items": {"type": "string"}}),
        lambda t: t["inputSchema"]["properties"].update(tags={"type": "array", "items": {"minItems": 1}}),
        lambda t: t["inputSchema"]["properties"].update(n={"type": "integer", "minimum": 1}),
        lambda t: t["inputSchema"]["properties"].update(n={"type": "number"}),
        lambda t: t["inputSchema"]["properties"].update(flag={"type": "boolean", "description": "d"}),
    ]
    for edit in edits:
        tool = copy.deepcopy(base[0])
        edit(tool)
        variants.append([tool])
    return variants


@pytest.mark.parametrize("tools", _schema_variants())
def test_tool_schema_verdict_agrees_with_the_gateway_api_model(tools: Any) -> None:
    # Structural rules only: manifest.py is stricter (non-empty names, required ⊆ properties, unique
    # names), which none of these variants touches.
    assert (manifest.tool_schema_problems(tools, "tools") == []) == _valid_by_model(tools)


def test_tool_schema_variants_cover_both_verdicts() -> None:
    verdicts = [_valid_by_model(tools) for tools in _schema_variants()]
    assert verdicts.count(True) >= 5 and verdicts.count(False) >= 10


# ------------------------------------------------------------------------------------- env var names


def test_env_var_names_the_agent_reads_are_set_by_the_deployment() -> None:
    spec = manifest.load(REPO)
    (the_gateway,) = spec["agentCoreGateways"]
    (the_memory,) = spec["memories"]
    # The names agentcore deploy derives from the manifest are exactly the constants settings.py reads.
    assert manifest.gateway_url_env(the_gateway["name"]) == settings.GATEWAY_URL_ENV
    assert manifest.memory_id_env(the_memory["name"]) == settings.MEMORY_ID_ENV
    assert {settings.GATEWAY_URL_ENV, settings.MEMORY_ID_ENV} <= set(manifest.deployment_env_vars(spec))
    # And the scanner check() uses finds exactly those in the agent's code.
    assert manifest.agent_env_reads(REPO / "app" / "CustomerSupport") == {
        settings.GATEWAY_URL_ENV: "settings.py: GATEWAY_URL_ENV",
        settings.MEMORY_ID_ENV: "settings.py: MEMORY_ID_ENV",
    }


def test_deployment_env_var_naming() -> None:
    # As @aws/agentcore-cdk names them: gateway upper-cased with '-' -> '_', memory upper-cased.
    spec = {"agentCoreGateways": [{"name": "my-gw-2"}], "memories": [{"name": "Notes_v2"}]}
    assert manifest.deployment_env_vars(spec) == {
        "AGENTCORE_GATEWAY_MY_GW_2_URL": "the URL of gateway my-gw-2",
        "AGENTCORE_GATEWAY_MY_GW_2_AUTH_TYPE": "the auth type of gateway my-gw-2",
        "MEMORY_NOTES_V2_ID": "the id of memory Notes_v2",
    }


def _runtime_env(spec: dict[str, Any]) -> dict[str, str]:
    # The deployed bundle has no manifest: point the agent at none, so only envVars count.
    env = {e["name"]: e["value"] for e in runtime(spec)["envVars"]}
    return {**env, "AGENTCORE_MANIFEST": "/nonexistent/agentcore.json"}


def test_auth_env_vars_give_the_agent_its_authorizer(project: Path) -> None:
    manifest.configure(project, VALUES)
    spec = read_spec(project)
    from_env = settings.load_auth_settings(_runtime_env(spec))
    expected = settings.AuthSettings.from_authorizer(runtime_jwt(spec))
    assert (from_env.mode, from_env.discovery_url, from_env.allowed_clients) == (
        "enforce",
        VALUES["discovery_url"],
        (VALUES["client_id"], VALUES["user_client_id"]),
    )
    assert from_env == expected


def test_auth_env_names_are_the_ones_settings_reads(project: Path) -> None:
    # Audience and scopes are not configured today; if they are, check() demands these variables.
    spec = read_spec(project)
    runtime_jwt(spec).update(allowedAudience=["aud-1"], allowedScopes=["customersupport/invoke", "openid"])
    env = _runtime_env(spec)
    env[manifest.AUTH_LIST_ENV["allowedAudience"]] = "aud-1"
    env[manifest.AUTH_LIST_ENV["allowedScopes"]] = "customersupport/invoke,openid"
    assert settings.load_auth_settings(env) == settings.AuthSettings.from_authorizer(runtime_jwt(spec))
    runtime(spec)["envVars"] = [{"name": k, "value": v} for k, v in env.items() if k != "AGENTCORE_MANIFEST"]
    write_spec(project, spec)
    # The gateway does not check them, so only the runtime's envVars matter here.
    assert manifest.check(project) == []


# ------------------------------------------------------------------------------------- configure


def _expected_after_configure(spec: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    expected = copy.deepcopy(spec)
    clients = [values["client_id"], values["user_client_id"]]
    for jwt in (runtime_jwt(expected), gateway_jwt(expected)):
        jwt["discoveryUrl"] = values["discovery_url"]
        jwt["allowedClients"] = clients
    env_entry(expected, "AUTH_DISCOVERY_URL")["value"] = values["discovery_url"]
    env_entry(expected, "AUTH_ALLOWED_CLIENTS")["value"] = ",".join(clients)
    named(gateway(expected)["targets"], "WarrantyCheck")["lambdaFunctionArn"]["lambdaArn"] = values[
        "lambda_arn"
    ]
    named(gateway(expected)["targets"], "AccountTools")["lambdaFunctionArn"]["lambdaArn"] = values[
        "account_lambda_arn"
    ]
    return expected


def test_configure_changes_exactly_the_configured_fields(project: Path) -> None:
    before = read_spec(project)
    assert manifest.configure(project, VALUES) is True
    text = (project / "agentcore" / "agentcore.json").read_text(encoding="utf-8")
    expected = _expected_after_configure(before, VALUES)
    assert json.loads(text) == expected
    # Byte-for-byte the CLI's serialisation of the original with those fields changed: key order,
    # 2-space indent and the missing trailing newline all kept.
    assert text == manifest.render(expected)
    assert text.startswith('{\n  "$schema": ') and text.endswith("\n}")
    assert manifest.check(project) == []


def test_configure_is_idempotent_and_does_not_rewrite(project: Path) -> None:
    path = project / "agentcore" / "agentcore.json"
    assert manifest.configure(project, VALUES) is True
    first, stat = path.read_bytes(), path.stat()
    assert manifest.configure(project, VALUES) is False
    assert path.read_bytes() == first
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)  # not even rewritten


def test_configure_reports_each_changed_field(project: Path) -> None:
    old_url = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE/.well-known/openid-configuration"
    changes = manifest.configure_changes(project, VALUES)
    assert changes == [
        "runtimes[CustomerSupport].authorizerConfiguration.customJwtAuthorizer.discoveryUrl: "
        f'"{old_url}" -> "{VALUES["discovery_url"]}"',
        "runtimes[CustomerSupport].authorizerConfiguration.customJwtAuthorizer.allowedClients: "
        f'["EXAMPLEmachineclientid000000"] -> ["{VALUES["client_id"]}", "{VALUES["user_client_id"]}"]',
        "agentCoreGateways[my-gateway-secure].authorizerConfiguration.customJwtAuthorizer.discoveryUrl: "
        f'"{old_url}" -> "{VALUES["discovery_url"]}"',
        "agentCoreGateways[my-gateway-secure].authorizerConfiguration.customJwtAuthorizer.allowedClients: "
        f'["EXAMPLEmachineclientid000000"] -> ["{VALUES["client_id"]}", "{VALUES["user_client_id"]}"]',
        f'runtimes[CustomerSupport].envVars[AUTH_DISCOVERY_URL]: "{old_url}" -> "{VALUES["discovery_url"]}"',
        "runtimes[CustomerSupport].envVars[AUTH_ALLOWED_CLIENTS]: "
        f'"EXAMPLEmachineclientid000000" -> "{VALUES["client_id"]},{VALUES["user_client_id"]}"',
        "agentCoreGateways[my-gateway-secure].targets[WarrantyCheck].lambdaFunctionArn.lambdaArn: "
        '"arn:aws:lambda:us-east-1:123456789012:function:customersupport-warranty-check-EXAMPLE" -> '
        f'"{VALUES["lambda_arn"]}"',
        "agentCoreGateways[my-gateway-secure].targets[AccountTools].lambdaFunctionArn.lambdaArn: "
        '"arn:aws:lambda:us-east-1:123456789012:function:customersupport-account-tools-EXAMPLE" -> '
        f'"{VALUES["account_lambda_arn"]}"',
    ]
    new_arn = VALUES["lambda_arn"].replace("cs-prod", "cs-next")
    (change,) = manifest.configure_changes(project, {**VALUES, "lambda_arn": new_arn})
    assert change.endswith(f'-> "{new_arn}"')


def test_configure_adds_missing_auth_env_vars_at_the_end(project: Path) -> None:
    spec = read_spec(project)
    runtime(spec)["envVars"] = [{"name": "AUTH_MODE", "value": "enforce"}]
    write_spec(project, spec)
    assert manifest.configure(project, VALUES) is True
    assert runtime(read_spec(project))["envVars"] == [
        {"name": "AUTH_MODE", "value": "enforce"},
        {"name": "AUTH_DISCOVERY_URL", "value": VALUES["discovery_url"]},
        {"name": "AUTH_ALLOWED_CLIENTS", "value": f"{VALUES['client_id']},{VALUES['user_client_id']}"},
    ]
    assert manifest.check(project) == []


def test_configure_allows_one_client_once(project: Path) -> None:
    manifest.configure(project, {**VALUES, "user_client_id": VALUES["client_id"]})
    spec = read_spec(project)
    assert runtime_jwt(spec)["allowedClients"] == gateway_jwt(spec)["allowedClients"] == [VALUES["client_id"]]
    assert env_entry(spec, "AUTH_ALLOWED_CLIENTS")["value"] == VALUES["client_id"]


def test_configure_keeps_non_ascii_text_and_a_trailing_newline(project: Path) -> None:
    path = project / "agentcore" / "agentcore.json"
    spec = read_spec(project)
    runtime(spec)["description"] = 'Kundendienst – Garantie & Rückgabe "ü"'
    path.write_text(manifest.render(spec) + "\n", encoding="utf-8")
    manifest.configure(project, VALUES)
    text = path.read_text(encoding="utf-8")
    assert (
        '"description": "Kundendienst – Garantie & Rückgabe \\"ü\\"",' in text
    )  # as JSON.stringify writes it
    assert text.endswith("}\n") and not text.endswith("\n\n")


def test_configure_writes_atomically_and_keeps_the_mode(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / "agentcore" / "agentcore.json"
    path.chmod(0o640)
    original, listing = path.read_bytes(), sorted(os.listdir(path.parent))

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        manifest.configure(project, VALUES)
    assert path.read_bytes() == original
    assert sorted(os.listdir(path.parent)) == listing  # the temporary file is gone too

    monkeypatch.undo()
    assert manifest.configure(project, VALUES) is True
    assert sorted(os.listdir(path.parent)) == listing
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"discovery_url": "http://idp.example.com/.well-known/openid-configuration"},
            "must be an https URL",
        ),
        (
            {"discovery_url": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X"},
            "must be an https URL",
        ),
        ({"client_id": "a,b"}, "client_id 'a,b' must not contain whitespace or commas"),
        ({"user_client_id": "user client"}, "user_client_id 'user client' must not contain"),
        ({"lambda_arn": "arn:aws:iam::123456789012:role/warranty"}, "is not a Lambda function ARN"),
        ({"lambda_arn": ""}, "missing value(s): lambda_arn"),
        ({"account_lambda_arn": "arn:aws:s3:::orders"}, "is not a Lambda function ARN"),
        ({"account_lambda_arn": ""}, "missing value(s): account_lambda_arn"),
    ],
)
def test_configure_rejects_bad_values_without_writing(
    project: Path, change: dict[str, str], message: str
) -> None:
    path = project / "agentcore" / "agentcore.json"
    original = path.read_bytes()
    with pytest.raises(ValueError) as raised:
        manifest.configure(project, {**VALUES, **change})
    assert message in str(raised.value)
    assert path.read_bytes() == original


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda spec: gateway(spec).update(name="other"), "no gateway named my-gateway-secure"),
        (lambda spec: spec.update(runtimes=[]), "no runtime named CustomerSupport"),
        (lambda spec: gateway(spec)["targets"][0].update(name="Other"), "no target of gateway"),
        (lambda spec: gateway(spec).update(authorizerType="AWS_IAM"), "not CUSTOM_JWT"),
    ],
)
def test_configure_refuses_an_unexpected_manifest(
    project: Path, mutate: Callable[[Any], Any], message: str
) -> None:
    spec = read_spec(project)
    mutate(spec)
    write_spec(project, spec)
    path = project / "agentcore" / "agentcore.json"
    original = path.read_bytes()
    with pytest.raises(LookupError, match=message):
        manifest.configure(project, VALUES)
    assert path.read_bytes() == original


# ------------------------------------------------------------------------------------- command line


def run_manifest_py(*args: str) -> subprocess.CompletedProcess[str]:
    # -I -S: no site-packages at all, which proves the script needs the standard library only.
    return subprocess.run(
        [sys.executable, "-I", "-S", str(MANIFEST_PY), *args], capture_output=True, text=True, timeout=60
    )


def test_cli_check(project: Path) -> None:
    ok = run_manifest_py("check", "--project", str(project))
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ok.stdout == f"manifest check: OK ({project / 'agentcore' / 'agentcore.json'})\n"

    spec = read_spec(project)
    runtime(spec)["requestHeaderAllowlist"] = []
    env_entry(spec, "AUTH_MODE")["value"] = "off"
    write_spec(project, spec)
    bad = run_manifest_py("check", "--project", str(project))
    assert bad.returncode == 1 and bad.stdout == ""
    lines = bad.stderr.splitlines()
    assert lines[0] == f"manifest check: 2 problem(s) in {project / 'agentcore' / 'agentcore.json'}:"
    assert [line[:4] for line in lines[1:]] == ["  - ", "  - "]
    assert "Authorization" in lines[1] and "AUTH_MODE" in lines[2]


def test_cli_configure(project: Path) -> None:
    args = [
        "configure",
        "--project",
        str(project),
        "--discovery-url",
        VALUES["discovery_url"],
        "--client-id",
        VALUES["client_id"],
        "--user-client-id",
        VALUES["user_client_id"],
        "--lambda-arn",
        VALUES["lambda_arn"],
        "--account-lambda-arn",
        VALUES["account_lambda_arn"],
    ]
    before = read_spec(project)
    first = run_manifest_py(*args)
    assert (first.returncode, first.stderr) == (0, "")
    lines = first.stdout.splitlines()
    assert lines[0] == f"updated {project / 'agentcore' / 'agentcore.json'}:"
    assert len(lines) == 9 and all(line.startswith("  ") and " -> " in line for line in lines[1:])
    assert read_spec(project) == _expected_after_configure(before, VALUES)

    written = (project / "agentcore" / "agentcore.json").read_bytes()
    second = run_manifest_py(*args)
    assert (second.returncode, second.stderr) == (0, "")
    assert second.stdout.startswith("unchanged: ")
    assert (project / "agentcore" / "agentcore.json").read_bytes() == written

    bad = run_manifest_py(*args[:-1], "not-an-arn")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr == "manifest configure: error: 'not-an-arn' is not a Lambda function ARN\n"
    assert (project / "agentcore" / "agentcore.json").read_bytes() == written


# ------------------------------------------------------------------------------------- edge grants

EDGE = {
    "edge_secret_arn": "arn:aws:secretsmanager:eu-west-1:210987654321:secret:EdgeGrantSecret-a1b2c3-XyZ123",
    "edge_nonce_table": "cs-prod-edge-nonces",
    "edge_policy_arn": "arn:aws:iam::210987654321:policy/customersupport-edge/cs-prod-EdgeRuntimePolicy-1A2B",
}


@pytest.fixture
def edge_project(project: Path) -> Path:
    """The project configured with edge grants, as configure.sh leaves it (check passes)."""
    manifest.configure(project, {**VALUES, **EDGE})
    assert manifest.check(project) == []
    return project


def test_configure_writes_the_edge_grant_settings(edge_project: Path) -> None:
    spec = read_spec(edge_project)
    env = _runtime_env(spec)
    assert (env["EDGE_GRANT_SECRET_ID"], env["EDGE_NONCE_TABLE"]) == (
        EDGE["edge_secret_arn"],
        EDGE["edge_nonce_table"],
    )
    assert env["EDGE_EXEMPT_CLIENTS"] == VALUES["client_id"]  # only the machine client skips the door
    assert runtime(spec)["additionalPolicies"] == [EDGE["edge_policy_arn"]]
    # The agent reads the same names (auth/edge_config.py declares them once).
    from auth.edge_config import EDGE_EXEMPT_CLIENTS, EDGE_GRANT_SECRET_ID, EDGE_NONCE_TABLE

    assert {v.name for v in (EDGE_EXEMPT_CLIENTS, EDGE_GRANT_SECRET_ID, EDGE_NONCE_TABLE)} <= set(env)


def test_configure_replaces_its_own_policy_and_keeps_the_operators(edge_project: Path) -> None:
    spec = read_spec(edge_project)
    own = "arn:aws:iam::210987654321:policy/operators-extra"
    runtime(spec)["additionalPolicies"].insert(0, own)
    write_spec(edge_project, spec)
    newer = "arn:aws:iam::210987654321:policy/customersupport-edge/cs-next-EdgeRuntimePolicy-9Z"
    assert manifest.configure(edge_project, {**VALUES, **EDGE, "edge_policy_arn": newer})
    assert runtime(read_spec(edge_project))["additionalPolicies"] == [own, newer]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"edge_nonce_table": ""},
            "edge grants need all of edge_secret_arn, edge_nonce_table, edge_policy_arn",
        ),
        ({"edge_secret_arn": "arn:aws:ssm:eu-west-1:210987654321:parameter/x"}, "not a Secrets Manager"),
        ({"edge_nonce_table": "a b"}, "is not a DynamoDB table name"),
        (
            {"edge_policy_arn": "arn:aws:iam::210987654321:policy/AdministratorAccess"},
            "under /customersupport-edge/",
        ),
    ],
)
def test_configure_rejects_bad_edge_values_without_writing(
    project: Path, change: dict[str, str], message: str
) -> None:
    path = project / "agentcore" / "agentcore.json"
    original = path.read_bytes()
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        manifest.configure(project, {**VALUES, **EDGE, **change})
    assert path.read_bytes() == original


EDGE_MUTATIONS: list[tuple[str, Mutation, str]] = [
    ("a literal key in the manifest", _add_env("EDGE_GRANT_KEYS", "k" * 40), "must not set EDGE_GRANT_KEYS"),
    ("the key without a ledger", _drop_env("EDGE_NONCE_TABLE"), "without EDGE_NONCE_TABLE"),
    (
        "the grant header not forwarded",
        _set_runtime("requestHeaderAllowlist", ["Authorization"]),
        "requestHeaderAllowlist must contain X-Amzn-Bedrock-AgentCore-Runtime-Custom-Edge-Grant",
    ),
    ("an exempt client nobody allows", _set_env("EDGE_EXEMPT_CLIENTS", "stale0client"), "names stale0client"),
    ("no policy for the role", _set_runtime("additionalPolicies", []), "additionalPolicies is empty"),
    ("a malformed secret ARN", _set_env("EDGE_GRANT_SECRET_ID", "arn:aws:s3:::key"), "not a Secrets Manager"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [m[1:] for m in EDGE_MUTATIONS], ids=[m[0] for m in EDGE_MUTATIONS]
)
def test_each_edge_invariant_fails_on_a_mutated_copy(
    edge_project: Path, mutate: Mutation, expected: str
) -> None:
    spec = read_spec(edge_project)
    mutate(edge_project, spec)
    write_spec(edge_project, spec)
    problems = manifest.check(edge_project)
    assert len(problems) == 1, problems
    assert expected in problems[0], problems[0]


def test_an_imported_execution_role_carries_its_own_permissions(edge_project: Path) -> None:
    spec = read_spec(edge_project)
    runtime(spec).pop("additionalPolicies")
    runtime(spec)["executionRoleArn"] = "arn:aws:iam::210987654321:role/cs-runtime"
    write_spec(edge_project, spec)
    assert manifest.check(edge_project) == []


def test_cli_configure_takes_the_edge_values(project: Path) -> None:
    args = [f"--{k.replace('_', '-')}={v}" for k, v in {**VALUES, **EDGE}.items()]
    run = run_manifest_py("configure", "--project", str(project), *args)
    assert run.returncode == 0, run.stderr
    assert "runtimes[CustomerSupport].additionalPolicies" in run.stdout
    assert _runtime_env(read_spec(project))["EDGE_NONCE_TABLE"] == EDGE["edge_nonce_table"]


# ------------------------------------------------------------------------------------- answer ratings

FEEDBACK = {
    "feedback_table": "cs-prod-feedback",
    "feedback_policy_arn": (
        "arn:aws:iam::210987654321:policy/customersupport-feedback/cs-prod-FeedbackWritePolicy-3C4D"
    ),
}


@pytest.fixture
def rated_project(project: Path) -> Path:
    """The project configured with edge grants and ratings, as configure.sh leaves it (check passes)."""
    assert manifest.configure(project, {**VALUES, **EDGE, **FEEDBACK})
    assert manifest.check(project) == []
    return project


def test_configure_writes_the_ratings_table_and_policy(rated_project: Path) -> None:
    spec = read_spec(rated_project)
    assert _runtime_env(spec)["FEEDBACK_TABLE_NAME"] == FEEDBACK["feedback_table"]
    # Both owners' policies, side by side: neither configure step drops the other's.
    assert runtime(spec)["additionalPolicies"] == [EDGE["edge_policy_arn"], FEEDBACK["feedback_policy_arn"]]
    # The agent reads the same name (feedback_store.py declares it once).
    from feedback_store import FEEDBACK_TABLE

    assert FEEDBACK_TABLE.name in _runtime_env(spec)
    # A re-run with the same values changes nothing (the two entries keep their places).
    assert not manifest.configure(rated_project, {**VALUES, **EDGE, **FEEDBACK})


def test_configure_replaces_its_own_ratings_policy_where_it_stands(rated_project: Path) -> None:
    spec = read_spec(rated_project)
    own = "arn:aws:iam::210987654321:policy/operators-extra"
    runtime(spec)["additionalPolicies"].insert(0, own)
    write_spec(rated_project, spec)
    newer = "arn:aws:iam::210987654321:policy/customersupport-feedback/cs-next-FeedbackWritePolicy-9Z"
    newer_edge = "arn:aws:iam::210987654321:policy/customersupport-edge/cs-next-EdgeRuntimePolicy-9Z"
    values = {**VALUES, **EDGE, **FEEDBACK, "feedback_policy_arn": newer, "edge_policy_arn": newer_edge}
    assert manifest.configure(rated_project, values)
    assert runtime(read_spec(rated_project))["additionalPolicies"] == [own, newer_edge, newer]


def test_a_stack_without_ratings_leaves_them_unset(project: Path) -> None:
    assert manifest.configure(project, {**VALUES, **EDGE})
    assert "FEEDBACK_TABLE_NAME" not in _runtime_env(read_spec(project))
    assert runtime(read_spec(project))["additionalPolicies"] == [EDGE["edge_policy_arn"]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"feedback_policy_arn": ""}, "ratings need both feedback_table and feedback_policy_arn"),
        ({"feedback_table": "a b"}, "is not a DynamoDB table name"),
        ({"feedback_policy_arn": EDGE["edge_policy_arn"]}, "under /customersupport-feedback/"),
    ],
)
def test_configure_rejects_bad_ratings_values_without_writing(
    project: Path, change: dict[str, str], message: str
) -> None:
    path = project / "agentcore" / "agentcore.json"
    original = path.read_bytes()
    with pytest.raises(ValueError, match=message):
        manifest.configure(project, {**VALUES, **EDGE, **FEEDBACK, **change})
    assert path.read_bytes() == original


def test_check_requires_the_ratings_policy_with_the_table(rated_project: Path) -> None:
    spec = read_spec(rated_project)
    runtime(spec)["additionalPolicies"] = [EDGE["edge_policy_arn"]]  # the edge's alone is not enough
    write_spec(rated_project, spec)
    problems = manifest.check(rated_project)
    assert len(problems) == 1, problems
    expected = (
        "sets FEEDBACK_TABLE_NAME but additionalPolicies has no policy under /customersupport-feedback/"
    )
    assert expected in problems[0], problems[0]
    runtime(spec)["executionRoleArn"] = "arn:aws:iam::210987654321:role/cs-runtime"  # its own permissions
    write_spec(rated_project, spec)
    assert manifest.check(rated_project) == []


@pytest.mark.integration  # runs manifest.py as a process
def test_cli_configure_takes_the_ratings_values(project: Path) -> None:
    args = [f"--{k.replace('_', '-')}={v}" for k, v in {**VALUES, **FEEDBACK}.items()]
    run = run_manifest_py("configure", "--project", str(project), *args)
    assert run.returncode == 0, run.stderr
    assert "runtimes[CustomerSupport].envVars[FEEDBACK_TABLE_NAME]" in run.stdout
    assert runtime(read_spec(project))["additionalPolicies"] == [FEEDBACK["feedback_policy_arn"]]
    assert run_manifest_py("check", "--project", str(project)).returncode == 0
