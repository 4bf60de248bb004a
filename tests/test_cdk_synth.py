"""What `agentcore deploy` would create: the vended CDK app synthesized offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from settings import GATEWAY_URL_ENV, MEMORY_ID_ENV
from tests.support.processes import REPO

MANIFEST = json.loads((REPO / "agentcore" / "agentcore.json").read_text())


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("cdk-out")
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "deploy" / "cdk-synth.sh"), str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template_path = Path(result.stdout.strip().splitlines()[-1])
    return json.loads(template_path.read_text()), out


def resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def expected_authorizer(block: dict[str, Any]) -> dict[str, Any]:
    jwt = block["authorizerConfiguration"]["customJwtAuthorizer"]
    return {"AllowedClients": jwt["allowedClients"], "DiscoveryUrl": jwt["discoveryUrl"]}


def test_runtime_has_the_jwt_authorizer_header_allowlist_and_env(synthesized: Any) -> None:
    template, _ = synthesized
    [runtime] = resources(template, "AWS::BedrockAgentCore::Runtime")
    declared = MANIFEST["runtimes"][0]
    assert runtime["AuthorizerConfiguration"]["CustomJWTAuthorizer"] == expected_authorizer(declared)
    # The caller's token and the front door's edge grant (auth/edge.py) reach the container.
    assert runtime["RequestHeaderConfiguration"]["RequestHeaderAllowlist"] == [
        "Authorization",
        "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Edge-Grant",
    ]
    assert runtime["AgentRuntimeArtifact"]["CodeConfiguration"]["Runtime"] == "PYTHON_3_13"
    env = runtime["EnvironmentVariables"]
    # The names the agent reads (settings.py) are the names the deployment sets.
    assert "GatewayUrl" in json.dumps(env[GATEWAY_URL_ENV])
    assert "MemoryId" in json.dumps(env[MEMORY_ID_ENV])
    for var in declared["envVars"]:
        assert env[var["name"]] == var["value"]
    assert (
        env["AUTH_DISCOVERY_URL"]
        == declared["authorizerConfiguration"]["customJwtAuthorizer"]["discoveryUrl"]
    )


def test_gateway_accepts_the_same_identity(synthesized: Any) -> None:
    template, _ = synthesized
    [gateway] = resources(template, "AWS::BedrockAgentCore::Gateway")
    declared = MANIFEST["agentCoreGateways"][0]
    assert gateway["AuthorizerType"] == "CUSTOM_JWT" and gateway["ProtocolType"] == "MCP"
    assert gateway["AuthorizerConfiguration"]["CustomJWTAuthorizer"] == expected_authorizer(declared)


@pytest.mark.parametrize("index", [0, 1], ids=["WarrantyCheck", "AccountTools"])
def test_each_target_points_at_its_lambda_with_our_tool_schema(synthesized: Any, index: int) -> None:
    template, out = synthesized
    targets = resources(template, "AWS::BedrockAgentCore::GatewayTarget")
    declared = MANIFEST["agentCoreGateways"][0]["targets"][index]
    assert [t["Name"] for t in targets] == ["WarrantyCheck", "AccountTools"]
    target = targets[index]
    lambda_config = target["TargetConfiguration"]["Mcp"]["Lambda"]
    assert lambda_config["LambdaArn"] == declared["lambdaFunctionArn"]["lambdaArn"]
    asset = lambda_config["ToolSchema"]["S3"]["Uri"].rsplit("/", 1)[-1]
    shipped = json.loads((out / f"asset.{asset}").read_text())
    assert shipped == json.loads((REPO / declared["lambdaFunctionArn"]["toolSchemaFile"]).read_text())


def _logical_id(template: dict[str, Any], kind: str, name: str | None = None) -> str:
    (found,) = [
        key
        for key, r in template["Resources"].items()
        if r["Type"] == kind and (name is None or r["Properties"].get("Name") == name)
    ]
    return found


def test_policy_engine_its_policies_and_the_gateways_link_are_synthesized(synthesized: Any) -> None:
    template, _ = synthesized
    (declared,) = MANIFEST["policyEngines"]
    engine_id = _logical_id(template, "AWS::BedrockAgentCore::PolicyEngine")
    engine = template["Resources"][engine_id]["Properties"]
    assert engine["Name"] == f"{MANIFEST['name']}_{declared['name']}"
    policies = resources(template, "AWS::BedrockAgentCore::Policy")
    # The statements are the manifest's, verbatim (the local gateway evaluates the same text).
    assert [(p["Name"], p["Definition"], p["ValidationMode"]) for p in policies] == [
        (d["name"], {"Policy": {"Statement": d["statement"]}}, d["validationMode"])
        for d in declared["policies"]
    ]
    assert {json.dumps(p["PolicyEngineId"]) for p in policies} == {
        json.dumps({"Fn::GetAtt": [engine_id, "PolicyEngineId"]})
    }
    gateway_id = _logical_id(template, "AWS::BedrockAgentCore::Gateway")
    gateway = template["Resources"][gateway_id]
    assert gateway["Properties"]["PolicyEngineConfiguration"] == {
        "Arn": {"Fn::GetAtt": [engine_id, "PolicyEngineArn"]},
        "Mode": MANIFEST["agentCoreGateways"][0]["policyEngineConfiguration"]["mode"],
    }
    assert gateway["Properties"]["PolicyEngineConfiguration"]["Mode"] == "ENFORCE"
    # The engine and every policy exist before the gateway starts enforcing them.
    policy_ids = {
        key for key, r in template["Resources"].items() if r["Type"] == "AWS::BedrockAgentCore::Policy"
    }
    assert {engine_id, *policy_ids} <= set(gateway["DependsOn"])
    # The gateway's role may consult the engine.
    role = template["Resources"][gateway["Properties"]["RoleArn"]["Fn::GetAtt"][0]]
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert any(
        "bedrock-agentcore:AuthorizeAction" in s["Action"]
        and {"Fn::GetAtt": [engine_id, "PolicyEngineArn"]} in s["Resource"]
        for s in statements
    )


def test_memory_has_semantic_preference_and_summary_strategies(synthesized: Any) -> None:
    template, _ = synthesized
    [memory] = resources(template, "AWS::BedrockAgentCore::Memory")
    strategies = {
        next(iter(s)): next(iter(s.values()))["NamespaceTemplates"] for s in memory["MemoryStrategies"]
    }
    assert strategies == {
        "SemanticMemoryStrategy": ["/users/{actorId}/facts"],
        "UserPreferenceMemoryStrategy": ["/users/{actorId}/preferences"],
        "SummaryMemoryStrategy": ["/summaries/{actorId}/{sessionId}"],
    }
    assert memory["EventExpiryDuration"] == 30
