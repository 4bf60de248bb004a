"""scripts/deploy/frontdoor.yaml (CloudFormation) and scripts/deploy/deploy-frontdoor.sh.

The template is linted, checked as parsed, and deployed with the real script on a moto server (the
server, its bridge for the types moto lacks, and what moto cannot emulate are described in
scripts/localdev/moto_frontdoor.py). The runtime ARN comes from a deployed-state.json shaped as `agentcore
deploy` writes it; the Cognito values come from SSM, written by the prerequisites stack deployed with
scripts/deploy/deploy-prerequisites.sh on the same server first (whose web client the front-door script
then updates with the site's URL).
"""

from __future__ import annotations

import datetime
import inspect
import io
import ipaddress
import json
import re
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import pytest
from cfnlint.decode import cfn_yaml

from scripts.localdev.frontdoor import Limits
from scripts.localdev.moto_frontdoor import BRIDGED_TYPES
from tests.support.aws import ACCOUNT, REGION, VENV_BIN, aws_cli_env, run_deploy_script
from tests.support.processes import REPO, free_port, start_process, stop_process

TEMPLATE = REPO / "scripts" / "deploy" / "frontdoor.yaml"
WAF_TEMPLATE = REPO / "scripts" / "deploy" / "edge-waf.yaml"
SCRIPT = REPO / "scripts" / "deploy" / "deploy-frontdoor.sh"
RUNTIME_ARN = f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:runtime/CustomerSupport-AbC123xyz"
SESSION = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
EDGE_GRANT = (
    "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Edge-Grant"  # the authorizer's grant (docs/edge-code.md)
)
SCOPE = "customersupport/invoke"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == resource_type}


# ------------------------------------------------------------------------------------- lint & template


def test_cfn_lint_reports_nothing() -> None:
    run = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), str(TEMPLATE), str(WAF_TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


@pytest.fixture(scope="module")
def waf_template() -> dict[str, Any]:
    return cfn_yaml.load(str(WAF_TEMPLATE))


def test_edge_waf_limits_each_ip_and_runs_the_managed_rules(waf_template: dict[str, Any]) -> None:
    (acl,) = resources(waf_template, "AWS::WAFv2::WebACL").values()
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = sorted(acl["Rules"], key=lambda r: r["Priority"])
    rate, common, bad_inputs = rules
    # The rate rule comes first: an IP over the limit is blocked before any managed rule runs.
    assert (rate["Priority"], rate["Action"]) == (0, {"Block": {}})
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",  # CloudFront gives WAF the viewer's address
        "Limit": {"Ref": "RequestsPerIpPer5Minutes"},
        "EvaluationWindowSec": 300,
    }
    limit = waf_template["Parameters"]["RequestsPerIpPer5Minutes"]
    assert (limit["Default"], limit["MinValue"]) == (600, 10)
    groups = {r["Statement"]["ManagedRuleGroupStatement"]["Name"]: r for r in (common, bad_inputs)}
    assert set(groups) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    for rule in groups.values():
        assert rule["Statement"]["ManagedRuleGroupStatement"]["VendorName"] == "AWS"
        assert rule["OverrideAction"] == {"None": {}}  # the groups block (a Count override would only log)
    # Only the body rules count instead of blocking (the body is a free-text prompt): every header,
    # URI and query-string rule of the common set blocks.
    overrides = groups["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"][
        "RuleActionOverrides"
    ]
    assert {o["Name"] for o in overrides} == {
        "SizeRestrictions_BODY",
        "CrossSiteScripting_BODY",
        "GenericLFI_BODY",
        "GenericRFI_BODY",
        "EC2MetaDataSSRF_BODY",
    }
    assert all(o["ActionToUse"] == {"Count": {}} for o in overrides)
    assert (
        "RuleActionOverrides"
        not in groups["AWSManagedRulesKnownBadInputsRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    )
    # CLOUDFRONT-scope web ACLs exist only in us-east-1: the stack refuses any other region.
    (assertion,) = waf_template["Rules"]["OnlyInUsEast1"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    assert waf_template["Outputs"]["WebAclArn"]["Value"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}


def test_distribution_takes_only_a_cloudfront_web_acl(template: dict[str, Any]) -> None:
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    assert config["WebACLId"] == {"Ref": "WebAclArn"}
    pattern = template["Parameters"]["WebAclArn"]["AllowedPattern"]
    good = (
        f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/cs-fd-edge-waf/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
    )
    assert re.fullmatch(pattern, good)
    for bad in (
        good.replace("us-east-1", "eu-west-1"),  # not where CloudFront reads web ACLs
        good.replace("global/", "regional/"),  # a REGIONAL web ACL cannot guard a distribution
        "",
    ):
        assert not re.fullmatch(pattern, bad), bad


def test_api_answers_only_requests_through_cloudfront(template: dict[str, Any]) -> None:
    header = template["Mappings"]["Origin"]["Verify"]["Header"]
    assert header == header.lower() == "x-origin-verify"
    by_ref = {"Fn::FindInMap": ["Origin", "Verify", "Header"]}
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    site, api = config["Origins"]
    assert "OriginCustomHeaders" not in site
    assert api["OriginCustomHeaders"] == [
        {"HeaderName": by_ref, "HeaderValue": {"Ref": "OriginVerifySecret"}}
    ]
    acl = template["Resources"]["ApiOriginWebAcl"]["Properties"]
    assert (acl["Scope"], acl["DefaultAction"]) == ("REGIONAL", {"Block": {}})  # refuse unless proven
    (rule,) = acl["Rules"]
    assert rule["Action"] == {"Allow": {}}
    assert rule["Statement"] == {
        "ByteMatchStatement": {
            "FieldToMatch": {"SingleHeader": {"Name": by_ref}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": {"Ref": "OriginVerifySecret"},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }
    # Sampled requests would show the header's value to anyone who may read WAF.
    assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is False
    assert acl["VisibilityConfig"]["SampledRequestsEnabled"] is False
    association = template["Resources"]["ApiOriginWebAclAssociation"]["Properties"]
    assert association == {
        "ResourceArn": {
            "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${Stage}"
        },
        "WebACLArn": {"Fn::GetAtt": ["ApiOriginWebAcl", "Arn"]},
    }
    secret = template["Parameters"]["OriginVerifySecret"]
    assert secret["NoEcho"] is True and secret["MinLength"] >= 32 and "Default" not in secret
    # The stack no longer advertises the API's own URL.
    assert "execute-api" not in json.dumps(template["Outputs"])


def test_stage_throttles_everyone_together_above_each_user(template: dict[str, Any]) -> None:
    stage = template["Resources"]["Stage"]["Properties"]
    (settings,) = stage["MethodSettings"]
    assert settings == {
        "ResourcePath": "/*",
        "HttpMethod": "*",
        "ThrottlingRateLimit": {"Ref": "StageThrottleRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "StageThrottleBurstLimit"},
    }
    parameters = template["Parameters"]
    assert (
        parameters["StageThrottleRateLimit"]["Default"],
        parameters["StageThrottleBurstLimit"]["Default"],
    ) == (
        20,
        40,
    )
    # The stage's cap is for the whole door: it must leave room for more than one user's burst.
    assert parameters["StageThrottleBurstLimit"]["Default"] > parameters["ThrottleBurstLimit"]["Default"]
    assert parameters["StageThrottleRateLimit"]["Default"] > parameters["ThrottleRateLimit"]["Default"]


def test_authorizer_concurrency_and_cache_are_bounded(template: dict[str, Any]) -> None:
    function = template["Resources"]["AuthorizerFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {"Ref": "AuthorizerReservedConcurrency"}
    concurrency = template["Parameters"]["AuthorizerReservedConcurrency"]
    assert (concurrency["Default"], concurrency["MinValue"]) == (10, 1)  # 0 would refuse every call
    cache = template["Parameters"]["AuthorizerCacheSeconds"]
    # A cached Allow outlives a revoked or expired token by at most this long.
    assert (cache["Default"], cache["MaxValue"]) == (300, 900)
    authorizer = template["Resources"]["Authorizer"]["Properties"]
    assert authorizer["IdentityValidationExpression"].startswith("^Bearer ")  # junk never invokes it


ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "time": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "path": "$context.resourcePath",
    "status": "$context.status",
    "length": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "sub": "$context.authorizer.principalId",
    "authorizerStatus": "$context.authorizer.status",
    "error": "$context.error.responseType",
    "waf": "$context.wafResponseCode",
}


def test_access_log_never_holds_the_authorization_header(template: dict[str, Any]) -> None:
    setting = template["Resources"]["Stage"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(setting["Format"])  # one JSON object a request
    assert fields == ACCESS_LOG_FIELDS
    for name, variable in fields.items():
        # $context variables only (no $input / $method.request.*), none about headers or tokens.
        assert re.fullmatch(r"\$context(\.[A-Za-z]+)+", variable), name
        assert not re.search("authorization|header|token|apikey", variable, re.IGNORECASE), name
    group = template["Resources"]["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    # Access logging needs API Gateway's account-level CloudWatch role; kept when the stack goes.
    account = template["Resources"]["ApiGatewayAccount"]
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}
    assert template["Resources"]["Stage"]["DependsOn"] == "ApiGatewayAccount"
    for name in ("ApiGatewayAccount", "ApiGatewayLogsRole"):
        resource = template["Resources"][name]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


def _directives(policy: str) -> dict[str, list[str]]:
    parts = [d.split() for d in policy.split(";") if d.strip()]
    return {d[0]: d[1:] for d in parts}


def test_site_headers_are_as_strict_as_the_local_web_front(template: dict[str, Any]) -> None:
    from scripts.localdev.webfront import SecurityHeaders

    issuer, domain = "https://issuer.test", "https://login.test"
    local = dict(SecurityHeaders(app=None, connect_origins=[issuer, domain]).headers)  # type: ignore[arg-type]
    policy = template["Resources"]["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = policy["SecurityHeadersConfig"]
    csp_template, variables = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert variables == {"PoolRegion": {"Fn::Select": [0, {"Fn::Split": ["_", {"Ref": "UserPoolId"}]}]}}
    deployed = _directives(csp_template)
    expected = _directives(local[b"content-security-policy"].decode())
    # Every directive the local front sends, with the same sources; connect-src names the same two
    # kinds of origin: the pool's issuer (discovery) and its Managed Login domain (token, revoke).
    assert set(deployed) == set(expected)
    assert {k: v for k, v in deployed.items() if k != "connect-src"} == {
        k: v for k, v in expected.items() if k != "connect-src"
    }
    assert expected["connect-src"] == ["'self'", issuer, domain]
    assert deployed["connect-src"] == [
        "'self'",
        "https://cognito-idp.${PoolRegion}.amazonaws.com",
        "${CognitoDomainUrl}",
    ]
    assert deployed["frame-ancestors"] == ["'none'"]
    assert security["ContentSecurityPolicy"]["Override"] is True
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ContentTypeOptions"] == {"Override": True}  # X-Content-Type-Options: nosniff
    assert local[b"x-content-type-options"] == b"nosniff"
    assert security["ReferrerPolicy"] == {
        "ReferrerPolicy": local[b"referrer-policy"].decode(),
        "Override": True,
    }
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert policy["CustomHeadersConfig"]["Items"] == [
        {"Header": "Cache-Control", "Value": "no-store", "Override": True}
    ]
    assert template["Parameters"]["CognitoDomainUrl"]["AllowedPattern"] == "^https://[A-Za-z0-9.-]+$"
    # On the page and on the API path alike: every response of the distribution carries them.
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    for behavior in (config["DefaultCacheBehavior"], *config["CacheBehaviors"]):
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": "SiteHeadersPolicy"}


def test_method_streams_to_the_runtime_with_two_headers(template: dict[str, Any]) -> None:
    method = template["Resources"]["InvocationsMethod"]["Properties"]
    integration = method["Integration"]
    assert integration["Type"] == "HTTP_PROXY"  # streaming needs a proxy integration
    assert integration["ResponseTransferMode"] == "STREAM"
    assert integration["TimeoutInMillis"] == {"Ref": "IntegrationTimeoutMillis"}
    timeout = template["Parameters"]["IntegrationTimeoutMillis"]
    assert (timeout["Default"], timeout["MaxValue"]) == (300000, 900000)  # 5 min a turn; 15 min is the cap
    assert integration["RequestParameters"] == {
        "integration.request.header.Authorization": "method.request.header.Authorization",
        f"integration.request.header.{SESSION}": f"method.request.header.{SESSION}",
        # The authorizer's edge grant (tests/test_frontdoor_twin.py), never a client's header.
        f"integration.request.header.{EDGE_GRANT}": "context.authorizer.edgeGrant",
    }
    assert method["RequestParameters"] == {
        "method.request.header.Authorization": True,
        f"method.request.header.{SESSION}": False,
    }
    assert (method["HttpMethod"], method["AuthorizationType"]) == ("POST", "CUSTOM")
    assert method["AuthorizerId"] == {"Ref": "Authorizer"}
    assert method["ApiKeyRequired"] is True


def test_authorizer_checks_access_tokens_and_picks_the_usage_key(template: dict[str, Any]) -> None:
    (authorizer,) = resources(template, "AWS::ApiGateway::Authorizer").values()
    assert authorizer["Type"] == "TOKEN"
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"
    # Cached decisions unless single-use edge grants are on (tests/test_frontdoor_twin.py).
    assert authorizer["AuthorizerResultTtlInSeconds"] == {
        "Fn::If": ["HasEdgeGrant", 0, {"Ref": "AuthorizerCacheSeconds"}]
    }
    api = template["Resources"]["Api"]["Properties"]
    assert api["ApiKeySourceType"] == "AUTHORIZER"  # a client's x-api-key header counts for nothing
    env = template["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["REQUIRED_SCOPE"] == {"Ref": "RequiredScope"}  # the method's OAuth scope
    assert template["Parameters"]["RequiredScope"]["Default"] == SCOPE
    assert env["USER_POOL_ID"] == {"Ref": "UserPoolId"}
    assert env["ALLOWED_CLIENT_IDS"] == {"Fn::Join": [",", {"Ref": "AllowedClientIds"}]}
    assert env["USAGE_PLAN_NAME"] == {"Fn::Sub": "${AWS::StackName}-per-user"}
    plan = template["Resources"]["UsagePlan"]["Properties"]
    assert plan["UsagePlanName"] == env["USAGE_PLAN_NAME"]


def test_usage_plan_limits_are_the_parameters_the_local_twin_reads(template: dict[str, Any]) -> None:
    plan = template["Resources"]["UsagePlan"]["Properties"]
    assert plan["Throttle"] == {
        "RateLimit": {"Ref": "ThrottleRateLimit"},
        "BurstLimit": {"Ref": "ThrottleBurstLimit"},
    }
    assert plan["Quota"] == {"Limit": {"Ref": "QuotaLimitPerDay"}, "Period": "DAY"}
    defaults = {name: template["Parameters"][name]["Default"] for name in Limits.__dataclass_fields__}
    assert defaults == {name: getattr(Limits(), name) for name in Limits.__dataclass_fields__}


def test_cors_names_only_the_web_chat_origin(template: dict[str, Any]) -> None:
    origin = {"Fn::Sub": "'https://${Distribution.DomainName}'"}
    preflight = template["Resources"]["InvocationsPreflight"]["Properties"]
    (response,) = preflight["Integration"]["IntegrationResponses"]
    assert response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"] == origin
    assert SESSION in response["ResponseParameters"]["method.response.header.Access-Control-Allow-Headers"]
    for gateway_response in resources(template, "AWS::ApiGateway::GatewayResponse").values():
        assert (
            gateway_response["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
            == origin
        )
    assert "'*'" not in json.dumps(template)


def test_site_bucket_is_private_and_read_only_through_cloudfront(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["SiteBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    statements = template["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allow, deny = statements
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Condition"]["StringEquals"]["AWS:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
    }
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})

    oac = template["Resources"]["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    site, api = config["Origins"]
    assert site["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert {b["ViewerProtocolPolicy"] for b in behaviors} == {"https-only"}
    (invocations,) = config["CacheBehaviors"]
    assert (invocations["PathPattern"], invocations["TargetOriginId"]) == ("/invocations", "api")
    policies = template["Mappings"]["CloudFront"]["Policies"]
    assert invocations["CachePolicyId"] == {"Fn::FindInMap": ["CloudFront", "Policies", "CachingDisabled"]}
    assert policies["CachingDisabled"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert policies["AllViewerExceptHostHeader"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def test_authorizer_role_is_least_privilege(template: dict[str, Any]) -> None:
    role = template["Resources"]["AuthorizerRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    (logs,) = role["Policies"]
    assert sorted(logs["PolicyDocument"]["Statement"][0]["Action"]) == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    keys = template["Resources"]["AuthorizerKeysPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {s["Sid"]: s["Resource"]["Fn::Sub"].rsplit("::", 1)[1] for s in keys} == {
        "CreateAndFindKeys": "/apikeys",
        "FindThePlan": "/usageplans",
        "JoinThePlan": "/usageplans/${UsagePlan}/keys",
    }
    permission = template["Resources"]["AuthorizerInvokePermission"]["Properties"]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"]["Fn::Sub"].endswith(":${Api}/authorizers/${Authorizer}")


# ------------------------------------------------------------------------------------- deployed on moto


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate and key for 127.0.0.1 (the TLS-only bucket policy needs HTTPS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "moto-cert.pem", directory / "moto-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def moto_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The bridged moto server over HTTPS on 127.0.0.1: (URL, CA bundle); stopped after the module."""
    tmp = tmp_path_factory.mktemp("moto-frontdoor")
    cert, key = self_signed_certificate(tmp)
    port = free_port()
    proc = start_process(
        [
            sys.executable,
            "-m",
            "scripts.localdev.moto_frontdoor",
            "--serve-moto",
            str(port),
            str(cert),
            str(key),
        ],
        cwd=REPO,
        log=tmp / "moto.log",
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto exited with {proc.returncode}")
            try:
                httpx.get(f"{url}/moto-api/", verify=str(cert), timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url, cert
    finally:
        stop_process(proc)


def client(service: str, moto_tls: tuple[str, Path]) -> Any:
    """A boto3 client for `service` on the HTTPS moto server."""
    url, cert = moto_tls
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        verify=str(cert),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def cli_env(moto_tls: tuple[str, Path], tmp: Path) -> dict[str, str]:
    """The aws CLI environment against the HTTPS moto server (it trusts the throw-away certificate)."""
    return {**aws_cli_env(moto_tls[0], tmp), "AWS_CA_BUNDLE": str(moto_tls[1])}


def write_deployed_state(project: Path, arn: str | None = RUNTIME_ARN, targets: int = 1) -> None:
    """agentcore/.cli/deployed-state.json as `agentcore deploy` writes it (CLI 0.30 schema)."""
    state: dict[str, Any] = {"targets": {}}
    for i in range(targets):
        runtimes = (
            {}
            if arn is None
            else {
                "CustomerSupport": {
                    "runtimeId": arn.rsplit("/", 1)[1],
                    "runtimeArn": arn,
                    "roleArn": "arn:aws:iam::1:role/r",
                }
            }
        )
        state["targets"]["default" if i == 0 else f"t{i}"] = {
            "resources": {"runtimes": runtimes, "stackName": "s"}
        }
    (project / "agentcore" / ".cli").mkdir(parents=True, exist_ok=True)
    (project / "agentcore" / ".cli" / "deployed-state.json").write_text(json.dumps(state))


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def deployed(moto_tls: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real script, once, against moto: SSM values as the prerequisites write them, a built site."""
    tmp = tmp_path_factory.mktemp("frontdoor")
    suffix = uuid.uuid4().hex[:8]
    prefix = f"/test/{suffix}/agentcore/"
    prerequisites = f"cs-prereq-{suffix}"
    prereq_run = run_deploy_script(
        cli_env(moto_tls, tmp),
        tmp,
        *("--stack-name", prerequisites, "--domain-prefix", f"cs-fd-test-{suffix}"),
        *("--parameter-prefix", prefix),
        # Sign-up on: moto cannot update a stack while a Condition leaves resources out (moto_stack gap 10).
        *("--self-sign-up", "on", "--organization-domain", "example.com"),
    )
    assert prereq_run.returncode == 0, prereq_run.stderr
    pages = client("ssm", moto_tls).get_paginator("get_parameters_by_path").paginate(Path=prefix)
    found = [p for page in pages for p in page["Parameters"]]  # at most 10 a page
    values = {p["Name"].removeprefix(prefix): p["Value"] for p in found}
    project = tmp / "project"
    write_deployed_state(project)
    site = tmp / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>chat</title>")
    bundle = tmp / "bundle"
    bundle.mkdir()
    (bundle / "handler.py").write_bytes((REPO / "app" / "FrontDoorAuthorizer" / "handler.py").read_bytes())
    stack = f"cs-fd-{uuid.uuid4().hex[:8]}"
    run = run_script(
        cli_env(moto_tls, tmp),
        *("--stack-name", stack, "--project", str(project), "--parameter-prefix", prefix),
        *("--site-dir", str(site), "--authorizer-bundle", str(bundle)),
        *("--parameter", "QuotaLimitPerDay=50", "--parameter", "ThrottleBurstLimit=3"),
        *("--prerequisites-stack", prerequisites),
    )
    return {"stack": stack, "run": run, "values": values, "prerequisites": prerequisites, "prefix": prefix}


def outputs(deployed: dict[str, Any], moto_tls: tuple[str, Path]) -> dict[str, str]:
    stack = client("cloudformation", moto_tls).describe_stacks(StackName=deployed["stack"])["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_script_deploys_every_resource_and_prints_the_site(
    deployed: dict[str, Any], moto_tls: tuple[str, Path], template: dict[str, Any]
) -> None:
    run = deployed["run"]
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    out = outputs(deployed, moto_tls)
    assert f"Web chat:        {out['SiteUrl']}" in run.stdout
    assert out["SiteUrl"].startswith("https://") and out["SiteUrl"].endswith(".cloudfront.net")
    assert "client from " in run.stderr and "web_client_id" in run.stderr  # preferred over user_client_id
    created = client("cloudformation", moto_tls).describe_stack_resources(StackName=deployed["stack"])
    # moto lists a resource its Condition left out as an entry without id or type.
    types = {
        r["LogicalResourceId"]: r["ResourceType"]
        for r in created["StackResources"]
        if "LogicalResourceId" in r
    }
    # Edge grants on by default (the prerequisites' key from SSM): the key's policy is there too.
    assert types == {k: r["Type"] for k, r in template["Resources"].items()}
    assert template["Resources"]["AuthorizerEdgeGrantPolicy"]["Condition"] == "HasEdgeGrant"
    assert f"edge grants signed with {deployed['prefix']}edge_grant_secret_arn" in run.stderr


def test_edge_grants_are_on_with_the_prerequisites_key(
    deployed: dict[str, Any], moto_tls: tuple[str, Path]
) -> None:
    secret_arn = deployed["values"]["edge_grant_secret_arn"]
    stack = client("cloudformation", moto_tls).describe_stacks(StackName=deployed["stack"])["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["EdgeGrantSecretArn"] == secret_arn  # nobody passed it: read from SSM
    # The authorizer reads that key, and only that one.
    role = client("lambda", moto_tls).get_function(FunctionName=f"{deployed['stack']}-authorizer")
    role_name = role["Configuration"]["Role"].rsplit("/", 1)[1]
    document = client("iam", moto_tls).get_role_policy(RoleName=role_name, PolicyName="read-edge-grant-key")
    assert document["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}
    ]
    key = client("secretsmanager", moto_tls).get_secret_value(SecretId=secret_arn)["SecretString"]
    assert key not in deployed["run"].stdout + deployed["run"].stderr


def test_deployed_api_method_integration_and_authorizer(
    deployed: dict[str, Any], moto_tls: tuple[str, Path]
) -> None:
    apigw = client("apigateway", moto_tls)
    api_id = outputs(deployed, moto_tls)["RestApiId"]
    assert apigw.get_rest_api(restApiId=api_id)["apiKeySource"] == "AUTHORIZER"
    (authorizer,) = apigw.get_authorizers(restApiId=api_id)["items"]
    function = client("lambda", moto_tls).get_function(FunctionName=f"{deployed['stack']}-authorizer")
    config = function["Configuration"]
    assert authorizer["type"] == "TOKEN"
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert authorizer["authorizerResultTtlInSeconds"] == 0  # single-use grants: no cached decision
    assert config["FunctionArn"] in authorizer["authorizerUri"]
    assert config["Environment"]["Variables"] == {
        "USER_POOL_ID": deployed["values"]["pool_id"],
        "ALLOWED_CLIENT_IDS": deployed["values"]["web_client_id"],
        "REQUIRED_SCOPE": SCOPE,
        "USAGE_PLAN_NAME": f"{deployed['stack']}-per-user",
        "API_KEY_NAME_PREFIX": f"{deployed['stack']}-user-",
        "EDGE_GRANT_SECRET_ID": deployed["values"]["edge_grant_secret_arn"],
    }

    resource = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/invocations")
    method = apigw.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod="POST")
    assert (method["authorizationType"], method["authorizerId"], method["apiKeyRequired"]) == (
        "CUSTOM",
        authorizer["id"],
        True,
    )
    integration = method["methodIntegration"]
    encoded = quote(RUNTIME_ARN, safe="")
    assert integration["type"] == "HTTP_PROXY"
    assert integration["uri"] == (
        f"https://bedrock-agentcore.{REGION}.amazonaws.com/runtimes/{encoded}/invocations?qualifier=DEFAULT"
    )
    assert int(integration["timeoutInMillis"]) == 300000
    assert integration["requestParameters"] == {
        "integration.request.header.Authorization": "method.request.header.Authorization",
        f"integration.request.header.{SESSION}": f"method.request.header.{SESSION}",
        f"integration.request.header.{EDGE_GRANT}": "context.authorizer.edgeGrant",
    }


def test_deployed_usage_plan_and_cors(deployed: dict[str, Any], moto_tls: tuple[str, Path]) -> None:
    apigw = client("apigateway", moto_tls)
    out = outputs(deployed, moto_tls)
    plan = apigw.get_usage_plan(usagePlanId=out["UsagePlanId"])
    assert plan["name"] == f"{deployed['stack']}-per-user"
    assert plan["apiStages"] == [{"apiId": out["RestApiId"], "stage": "v1"}]
    assert plan["throttle"] == {"rateLimit": 1.0, "burstLimit": 3}  # default rate, overridden burst
    assert plan["quota"] == {"limit": 50, "period": "DAY"}

    origin = f"'{out['SiteUrl']}'"
    resource = next(
        r for r in apigw.get_resources(restApiId=out["RestApiId"])["items"] if r["path"] == "/invocations"
    )
    preflight = apigw.get_integration_response(
        restApiId=out["RestApiId"], resourceId=resource["id"], httpMethod="OPTIONS", statusCode="204"
    )
    assert preflight["responseParameters"]["method.response.header.Access-Control-Allow-Origin"] == origin
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        response = apigw.get_gateway_response(restApiId=out["RestApiId"], responseType=kind)
        assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == origin


def test_deployed_site_bucket_distribution_and_config(
    deployed: dict[str, Any], moto_tls: tuple[str, Path]
) -> None:
    out = outputs(deployed, moto_tls)
    s3 = client("s3", moto_tls)
    bucket = out["SiteBucketName"]
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    allow, deny = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Condition"]["StringEquals"]["AWS:SourceArn"] == (
        f"arn:aws:cloudfront::{ACCOUNT}:distribution/{out['DistributionId']}"
    )
    assert deny["Effect"] == "Deny"

    cloudfront = client("cloudfront", moto_tls)
    config = cloudfront.get_distribution(Id=out["DistributionId"])["Distribution"]["DistributionConfig"]
    assert (
        out["SiteUrl"]
        == "https://" + cloudfront.get_distribution(Id=out["DistributionId"])["Distribution"]["DomainName"]
    )
    origins = {o["Id"]: o for o in config["Origins"]["Items"]}
    assert origins["site"]["DomainName"] == f"{bucket}.s3.{REGION}.amazonaws.com"
    assert origins["api"]["DomainName"] == f"{out['RestApiId']}.execute-api.{REGION}.amazonaws.com"
    assert origins["api"]["OriginPath"] == "/v1"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "https-only"
    (oac,) = [
        o
        for o in cloudfront.list_origin_access_controls()["OriginAccessControlList"]["Items"]
        if o["Name"] == f"{deployed['stack']}-site"
    ]
    assert (oac["SigningProtocol"], oac["SigningBehavior"], oac["OriginAccessControlOriginType"]) == (
        "sigv4",
        "always",
        "s3",
    )

    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"index.html", "config.json"}
    web = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    values = deployed["values"]
    # The fields app/WebChat/src/auth.js and main.js read, as scripts/deploy/webchat_config.py writes them.
    assert web == {
        "issuer": values["cognito_discovery_url"].removesuffix("/.well-known/openid-configuration"),
        "clientId": values["web_client_id"],
        "domain": values["cognito_domain_url"],
        "endpoint": out["InvocationsUrl"],
        "scope": f"openid profile email {SCOPE}",
    }


def test_the_web_client_accepts_the_site_and_requests_the_api_scope(
    deployed: dict[str, Any], moto_tls: tuple[str, Path]
) -> None:
    # Sign-in at the CloudFront URL works at once: the script added it to the web client through the
    # prerequisites stack, keeping the URLs it had; the client may ask for the scope the API requires.
    site = outputs(deployed, moto_tls)["SiteUrl"] + "/"
    values = deployed["values"]
    web = client("cognito-idp", moto_tls).describe_user_pool_client(
        UserPoolId=values["pool_id"], ClientId=values["web_client_id"]
    )["UserPoolClient"]
    # The prerequisites were deployed without --web-url: the site is the only URL (no localhost).
    assert web["CallbackURLs"] == [site]
    assert web["LogoutURLs"] == [site]
    assert web["AllowedOAuthFlows"] == ["code"]  # the client took the code flow once it had a URL
    assert SCOPE in web["AllowedOAuthScopes"]
    stack = client("cloudformation", moto_tls).describe_stacks(StackName=deployed["prerequisites"])["Stacks"][
        0
    ]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert (parameters["SelfSignUp"], parameters["OrganizationDomain"]) == ("Enabled", "example.com")  # kept
    assert "Before customers can sign in" not in deployed["run"].stdout


def test_deployed_flood_guard_origin_lock_throttles_and_logs(
    deployed: dict[str, Any], moto_tls: tuple[str, Path], template: dict[str, Any]
) -> None:
    run, out = deployed["run"], outputs(deployed, moto_tls)
    cloudfront, apigw = client("cloudfront", moto_tls), client("apigateway", moto_tls)
    wafv2 = client("wafv2", moto_tls)
    # The edge's web ACL: its own stack in us-east-1 (moto's region here too), on the distribution.
    waf_stack = client("cloudformation", moto_tls).describe_stacks(StackName=f"{deployed['stack']}-edge-waf")
    (waf_output,) = waf_stack["Stacks"][0]["Outputs"]
    edge_arn = waf_output["OutputValue"]
    assert f"Flood guard:     {edge_arn}" in run.stdout
    config = cloudfront.get_distribution(Id=out["DistributionId"])["Distribution"]["DistributionConfig"]
    assert config["WebACLId"] == edge_arn
    name, acl_id = edge_arn.rsplit("/", 2)[1:]
    edge = wafv2.get_web_acl(Name=name, Scope="CLOUDFRONT", Id=acl_id)["WebACL"]
    assert [r["Name"] for r in edge["Rules"]] == ["rate-per-ip", "aws-common", "aws-known-bad-inputs"]

    # The API's own web ACL on the stage, requiring the header CloudFront adds (same value).
    stage = apigw.get_stage(restApiId=out["RestApiId"], stageName="v1")
    assert stage["webAclArn"] == out["ApiOriginWebAclArn"]
    name, acl_id = out["ApiOriginWebAclArn"].rsplit("/", 2)[1:]
    origin_acl = wafv2.get_web_acl(Name=name, Scope="REGIONAL", Id=acl_id)["WebACL"]
    (rule,) = origin_acl["Rules"]
    match = rule["Statement"]["ByteMatchStatement"]
    origins = {o["Id"]: o for o in config["Origins"]["Items"]}
    (custom,) = origins["api"]["CustomHeaders"]["Items"]
    assert custom["HeaderName"] == match["FieldToMatch"]["SingleHeader"]["Name"] == "x-origin-verify"
    secret = custom["HeaderValue"]
    assert secret.encode() == match["SearchString"] and len(secret) >= 32
    assert origins["site"]["CustomHeaders"]["Quantity"] == 0  # the bucket never sees it
    # Generated by the script and never shown. (CloudFormation shows the NoEcho parameter as ****;
    # moto shows it plainly: moto gap 8 in scripts/localdev/moto_frontdoor.py.)
    assert secret not in run.stdout + run.stderr

    # Stage throttling for everyone together, and the access log.
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 20.0
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 40
    group_name = f"/aws/apigateway/{deployed['stack']}-access"
    (group,) = client("logs", moto_tls).describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]
    assert stage["accessLogSettings"]["destinationArn"] == group["arn"].removesuffix(":*")
    assert json.loads(stage["accessLogSettings"]["format"]) == ACCESS_LOG_FIELDS
    role = apigw.get_account()["cloudwatchRoleArn"]
    assert client("iam", moto_tls).get_role(RoleName=role.rsplit("/", 1)[1])["Role"]["Arn"] == role

    # The authorizer's reserved concurrency; the site's headers policy on both behaviors.
    lam = client("lambda", moto_tls)
    concurrency = lam.get_function_concurrency(FunctionName=f"{deployed['stack']}-authorizer")
    assert concurrency["ReservedConcurrentExecutions"] == 10
    policy = client("cloudformation", moto_tls).describe_stack_resource(
        StackName=deployed["stack"], LogicalResourceId="SiteHeadersPolicy"
    )["StackResourceDetail"]["PhysicalResourceId"]
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]["Items"]]
    assert [b["ResponseHeadersPolicyId"] for b in behaviors] == [policy, policy]


def test_authorizer_code_is_the_uploaded_bundle(deployed: dict[str, Any], moto_tls: tuple[str, Path]) -> None:
    s3 = client("s3", moto_tls)
    bucket = f"customersupport-cfn-{ACCOUNT}-{REGION}"
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{deployed['stack']}/")["Contents"]]
    assert key.startswith(f"{deployed['stack']}/authorizer-") and key.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    assert archive.read("handler.py") == (REPO / "app" / "FrontDoorAuthorizer" / "handler.py").read_bytes()


# ------------------------------------------------------------------------------------- script failures


def test_help_is_the_header_comment() -> None:
    run = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0
    assert run.stdout.startswith("Deploy scripts/deploy/frontdoor.yaml")
    assert "--authorizer-bundle" in run.stdout and "deployed-state.json" in run.stdout
    assert "edge-waf.yaml" in run.stdout and "us-east-1" in run.stdout  # where the flood guard goes
    assert "--rotate-origin-secret" in run.stdout and "X-Origin-Verify" in run.stdout


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (None, "deployed-state.json not found: run 'agentcore deploy' first"),
        ({"arn": None}, "no runtimeArn for runtime 'CustomerSupport' in target 'default'"),
        ({"targets": 2}, "has 2 deployment targets (default, t1); pick one with --target"),
        ({"arn": "arn:aws:bedrock-agentcore:us-east-1:1:runtime/x"}, "unexpected runtime ARN"),
    ],
)
def test_runtime_arn_comes_only_from_deployed_state(
    state: dict[str, Any] | None, message: str, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "agentcore").mkdir(parents=True)
    if state is not None:
        write_deployed_state(project, state.get("arn", RUNTIME_ARN), state.get("targets", 1))
    run = run_script(aws_cli_env("http://127.0.0.1:9", tmp_path), "--project", str(project))
    assert run.returncode == 1
    assert message in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--parameter", "RuntimeArn=x"], "--parameter RuntimeArn is not adjustable"),
        (["--parameter", "OriginVerifySecret=x"], "--parameter OriginVerifySecret is not adjustable"),
        (["--parameter", "WebAclArn=x"], "PriceClass EdgeGrantSecretArn RequestsPerIpPer5Minutes)"),
        (["--parameter", "QuotaLimitPerDay"], "--parameter takes NAME=VALUE"),
        (["--stack-name", "a" * 41], "at most 40 characters"),
        (["--nope"], "unknown argument: --nope"),
    ],
)
def test_bad_arguments_are_refused(args: list[str], message: str, tmp_path: Path) -> None:
    run = run_script(aws_cli_env("http://127.0.0.1:9", tmp_path), *args)
    assert run.returncode == 1
    assert message in run.stderr


def test_missing_prerequisites_are_named(moto_tls: tuple[str, Path], tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_deployed_state(project)
    run = run_script(
        cli_env(moto_tls, tmp_path), "--project", str(project), "--parameter-prefix", "/nothing/here/"
    )
    assert run.returncode == 1
    assert "SSM parameters under /nothing/here/ are incomplete" in run.stderr


# ------------------------------------------------------------------------------------- moto tripwires


def test_moto_gaps_are_still_there() -> None:
    # When moto closes a gap, the bridge (localdev/moto_frontdoor.py) steps aside (or must be dropped);
    # this test then says so, so the docstring and the README get updated.
    from moto.apigateway.models import APIGatewayBackend, Method, RestAPI
    from moto.cloudformation.models import ChangeSet
    from moto.cloudformation.parsing import get_model_map
    from moto.s3.models import FakeBucket

    native = {
        m.cloudformation_type() for m in get_model_map().values() if not m.__name__.startswith("Bridged")
    }
    assert not native & set(BRIDGED_TYPES), "moto now handles some bridged types natively"
    method_handler = inspect.getsource(Method.create_from_cloudformation_json)
    assert "RequestParameters" not in method_handler and "AuthorizerId" not in method_handler
    assert "response_transfer_mode" not in inspect.signature(APIGatewayBackend.put_integration).parameters
    # The server process patches these two; this process never does.
    assert "output_map" not in inspect.getsource(ChangeSet.apply)
    assert "condition" not in inspect.getsource(FakeBucket.get_permission).lower()
    assert "ApiKeySourceType" not in inspect.getsource(RestAPI.create_from_cloudformation_json)
    assert "PublicAccessBlock" not in inspect.getsource(FakeBucket.create_from_cloudformation_json)
    assert "self.stages[name] = Stage(" in inspect.getsource(RestAPI.create_deployment)


def test_without_a_web_client_the_user_login_client_is_used(
    moto_tls: tuple[str, Path], tmp_path: Path
) -> None:
    prefix = f"/test/{uuid.uuid4().hex[:8]}/agentcore/"
    ssm = client("ssm", moto_tls)
    for name, value in {
        "pool_id": f"{REGION}_AbCdEf123",
        "cognito_auth_scope": SCOPE,
        "cognito_discovery_url": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_AbCdEf123"
        "/.well-known/openid-configuration",
        "cognito_domain_url": f"https://cs-x.auth.{REGION}.amazoncognito.com",
        "user_client_id": "u1",
    }.items():
        ssm.put_parameter(Name=f"{prefix}{name}", Value=value, Type="String")
    project = tmp_path / "project"
    write_deployed_state(project)
    # Stops at the bucket check, right after choosing the client: nothing is deployed.
    run = run_script(
        cli_env(moto_tls, tmp_path),
        *("--project", str(project), "--parameter-prefix", prefix, "--bucket", "no-such-bucket-here"),
    )
    assert f"client from {prefix}user_client_id" in run.stderr
    assert f"no edge-grant key under {prefix} (prerequisites from before edge grants)" in run.stderr
    assert run.returncode == 1 and "bucket no-such-bucket-here does not exist" in run.stderr


def test_identity_validation_expression_admits_real_tokens_only(
    template: dict[str, Any], issuer: Any
) -> None:
    expression = template["Resources"]["Authorizer"]["Properties"]["IdentityValidationExpression"]
    token = issuer.client_credentials_token("cs-machine-client", [SCOPE])
    assert re.fullmatch(expression, f"Bearer {token}")
    for junk in (
        token,
        f"Basic {token}",
        f"Bearer {token} x",
        "Bearer a.b",
        "Bearer a.b.c.d",
        f"bearer {token}",
    ):
        assert not re.fullmatch(expression, junk), junk
