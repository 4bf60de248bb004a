"""scripts/prerequisites.yaml (CloudFormation) and scripts/deploy-prerequisites.sh.

The template is linted, checked structurally, and deployed for real with the real script on a moto
server (``aws cloudformation package`` + ``deploy`` through the venv's aws CLI).

moto gaps, measured on moto 5.2.5:

1. Its CloudFormation engine has no handler for any ``AWS::Cognito::*`` type (UserPool, UserPoolDomain,
   UserPoolResourceServer, UserPoolClient). It skips them with a warning, a ``Ref`` to them resolves to
   None, and the SSM parameters fed from those Refs are rejected (``Value ''``): on a stock moto server
   the stack cannot complete. moto's cognito-idp *API* is there, however, so the moto server used here
   registers, for the Cognito types moto lacks only, minimal CloudFormation handlers that pass the
   template's properties unchanged to moto's own cognito-idp backend (``_register_cognito_cfn_handlers``).
   Pool ids, client ids and client secrets all come from moto's Cognito emulation; nothing is invented.
   How real CloudFormation maps those properties is covered by cfn-lint (real resource schemas) and the
   ``test_template_structure_*`` tests instead.
2. Stacks created through a change set (``aws cloudformation deploy`` always uses one) get no Outputs,
   and ``Fn::GetAtt <SSM parameter>.Value`` is not resolved. Outputs are therefore compared with the
   SSM parameters on the template.
3. Re-deploying an unchanged template fails in moto's CreateChangeSet ("No updates are to be
   performed") instead of producing an empty change set, so the idempotent re-run (handled by
   ``--no-fail-on-empty-changeset`` on AWS) is not tested.
4. Invoking the Lambda needs Docker in moto; the packaged zip is unpacked and run locally instead.

Run this file as ``python tests/test_prerequisites.py --serve-moto PORT`` for the bridged server.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "scripts" / "prerequisites.yaml"
SCRIPT = REPO / "scripts" / "deploy-prerequisites.sh"
VENV_BIN = Path(sys.executable).parent
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
COGNITO_TYPES = (
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolDomain",
    "AWS::Cognito::UserPoolResourceServer",
    "AWS::Cognito::UserPoolClient",
)
SSM_NAMES = (
    "pool_id",
    "client_id",
    "user_client_id",
    "cognito_discovery_url",
    "cognito_token_url",
    "cognito_auth_scope",
    "warranty_check_lambda_arn",
)


_BRIDGES: list[type] = []  # moto finds models through weak __subclasses__() references: keep them alive


def _register_cognito_cfn_handlers() -> list[str]:
    """Give moto's CloudFormation engine handlers for the Cognito types it lacks (see module docstring)."""
    from moto.cloudformation import parsing
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core.common_models import CloudFormationModel

    # Each returns the physical id (what Ref yields in CloudFormation) of what it created in moto's Cognito.
    def user_pool(props: dict[str, Any], backend: Any, resource_name: str) -> str:
        name = props.pop("UserPoolName", resource_name)  # the API calls it PoolName
        return backend.create_user_pool(name, props).id

    def user_pool_client(props: dict[str, Any], backend: Any, resource_name: str) -> str:
        pool_id = props.pop("UserPoolId")
        secret = str(props.pop("GenerateSecret", False)).lower() == "true"
        return backend.create_user_pool_client(pool_id, secret, props).id

    def resource_server(props: dict[str, Any], backend: Any, resource_name: str) -> str:
        backend.create_resource_server(
            props["UserPoolId"], props["Identifier"], props["Name"], props.get("Scopes", [])
        )
        return props["Identifier"]

    def user_pool_domain(props: dict[str, Any], backend: Any, resource_name: str) -> str:
        backend.create_user_pool_domain(props["UserPoolId"], props["Domain"])
        return props["Domain"]

    creators = dict(
        zip(COGNITO_TYPES, (user_pool, user_pool_domain, resource_server, user_pool_client), strict=True)
    )
    native = set(parsing.get_model_map())
    for cfn_type, create in creators.items():
        if cfn_type in native:  # moto learned it: test moto's own implementation instead
            continue

        def create_from_cloudformation_json(
            cls: Any,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kw: Any,
        ) -> Any:
            backend = cognitoidp_backends[account_id][region_name]
            return cls(cls.creator(dict(cloudformation_json["Properties"]), backend, resource_name))

        def not_supported(cls: Any, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("the test bridge only creates Cognito resources")

        def init(self: Any, physical_id: str) -> None:
            self.physical_resource_id = physical_id

        _BRIDGES.append(
            type(
                "Bridged" + cfn_type.rsplit("::", 1)[1],
                (CloudFormationModel,),
                {
                    "__init__": init,
                    "creator": staticmethod(create),
                    "cloudformation_type": staticmethod(lambda t=cfn_type: t),
                    "cloudformation_name_type": staticmethod(lambda: ""),
                    "has_cfn_attr": classmethod(lambda cls, attr: False),
                    "is_created": lambda self: True,
                    "create_from_cloudformation_json": classmethod(create_from_cloudformation_json),
                    "update_from_cloudformation_json": classmethod(not_supported),
                    "delete_from_cloudformation_json": classmethod(not_supported),
                },
            )
        )
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    return [t for t in COGNITO_TYPES if t not in native]


if __name__ == "__main__":
    if sys.argv[1:2] != ["--serve-moto"] or len(sys.argv) != 3:
        sys.exit("usage: python tests/test_prerequisites.py --serve-moto PORT")
    bridged = _register_cognito_cfn_handlers()
    print(f"bridged CloudFormation types: {bridged}", flush=True)
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", sys.argv[2]])
    sys.exit(0)


import boto3  # noqa: E402 - the server mode above must not need test-only imports
import httpx  # noqa: E402
import pytest  # noqa: E402
from cfnlint.decode import cfn_yaml  # noqa: E402
from conftest import free_port, start_process, stop_process, wait_http  # noqa: E402


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


# ------------------------------------------------------------------------------------- lint & structure


def test_cfn_lint_reports_nothing() -> None:
    cfn_lint = VENV_BIN / "cfn-lint"
    assert cfn_lint.is_file(), "cfn-lint is not installed in this venv (dev dependency cfn-lint)"
    run = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


def _resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def test_template_structure_cognito(template: dict[str, Any]) -> None:
    res = template["Resources"]
    pool = res["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True

    assert res["UserPoolDomain"]["Properties"] == {
        "Domain": {"Ref": "DomainPrefix"},
        "UserPoolId": {"Ref": "UserPool"},
    }

    server = res["ResourceServer"]["Properties"]
    oauth = template["Mappings"]["OAuth"]["ResourceServer"]
    assert server["UserPoolId"] == {"Ref": "UserPool"}
    assert server["Identifier"] == {"Fn::FindInMap": ["OAuth", "ResourceServer", "Identifier"]}
    assert [s["ScopeName"] for s in server["Scopes"]] == [
        {"Fn::FindInMap": ["OAuth", "ResourceServer", "Scope"]}
    ]
    assert oauth == {
        "Identifier": "customersupport",
        "Scope": "invoke",
        "FullScope": "customersupport/invoke",
    }

    clients = _resources_of_type(template, "AWS::Cognito::UserPoolClient")
    assert set(clients) == {"MachineClient", "UserClient"}
    machine = clients["MachineClient"]
    assert machine["DependsOn"] == "ResourceServer"  # the scope must exist before it is granted
    mp = machine["Properties"]
    assert mp["UserPoolId"] == {"Ref": "UserPool"}
    assert mp["GenerateSecret"] is True
    assert mp["AllowedOAuthFlowsUserPoolClient"] is True
    assert mp["AllowedOAuthFlows"] == ["client_credentials"]
    assert mp["AllowedOAuthScopes"] == [{"Fn::FindInMap": ["OAuth", "ResourceServer", "FullScope"]}]
    assert "ALLOW_USER_PASSWORD_AUTH" not in mp["ExplicitAuthFlows"]

    up = clients["UserClient"]["Properties"]
    assert up["UserPoolId"] == {"Ref": "UserPool"}
    assert up["GenerateSecret"] is False
    assert sorted(up["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]
    assert "AllowedOAuthFlows" not in up


def test_template_structure_ssm_parameters(template: dict[str, Any]) -> None:
    assert template["Parameters"]["ParameterPrefix"]["Default"] == "/app/customersupport/agentcore/"
    params = _resources_of_type(template, "AWS::SSM::Parameter")
    by_name = {p["Properties"]["Name"]["Fn::Sub"]: p["Properties"] for p in params.values()}
    assert set(by_name) == {f"${{ParameterPrefix}}{name}" for name in SSM_NAMES}
    assert {p["Type"] for p in by_name.values()} == {"String"}
    value = {name: by_name[f"${{ParameterPrefix}}{name}"]["Value"] for name in SSM_NAMES}
    assert value["pool_id"] == {"Ref": "UserPool"}
    assert value["client_id"] == {"Ref": "MachineClient"}
    assert value["user_client_id"] == {"Ref": "UserClient"}
    assert value["cognito_discovery_url"] == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}/.well-known/openid-configuration"
    }
    assert value["cognito_token_url"] == {
        "Fn::Sub": "https://${DomainPrefix}.auth.${AWS::Region}.amazoncognito.com/oauth2/token"
    }
    assert value["cognito_auth_scope"] == {"Fn::FindInMap": ["OAuth", "ResourceServer", "FullScope"]}
    assert value["warranty_check_lambda_arn"] == {"Fn::GetAtt": ["WarrantyFunction", "Arn"]}
    # The machine client's secret is never read into SSM or an output (it stays in Cognito).
    assert "ClientSecret" not in json.dumps(template)


def test_outputs_use_the_same_expressions_as_the_ssm_parameters(template: dict[str, Any]) -> None:
    # Checked on the template because moto leaves Outputs empty on stacks made through change sets,
    # which is how `aws cloudformation deploy` always creates them.
    params = {
        p["Properties"]["Name"]["Fn::Sub"].removeprefix("${ParameterPrefix}"): p["Properties"]["Value"]
        for p in _resources_of_type(template, "AWS::SSM::Parameter").values()
    }
    outputs = {key: value["Value"] for key, value in template["Outputs"].items()}
    assert outputs == {
        "PoolId": params["pool_id"],
        "ClientId": params["client_id"],
        "UserClientId": params["user_client_id"],
        "CognitoDiscoveryUrl": params["cognito_discovery_url"],
        "CognitoTokenUrl": params["cognito_token_url"],
        "CognitoAuthScope": params["cognito_auth_scope"],
        "WarrantyCheckLambdaArn": params["warranty_check_lambda_arn"],
        "ParameterPrefix": {"Ref": "ParameterPrefix"},
    }


def test_template_structure_lambda_least_privilege(template: dict[str, Any]) -> None:
    res = template["Resources"]
    fn = res["WarrantyFunction"]["Properties"]
    assert fn["Runtime"] == "python3.13"
    assert fn["Handler"] == "handler.lambda_handler"
    assert fn["Code"] == "../app/WarrantyCheck/"
    assert (TEMPLATE.parent / fn["Code"] / "handler.py").is_file()
    assert fn["Role"] == {"Fn::GetAtt": ["WarrantyFunctionRole", "Arn"]}
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": "WarrantyLogGroup"}

    log_group = res["WarrantyLogGroup"]["Properties"]
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-warranty-check"}
    assert fn["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-warranty-check"}

    role = res["WarrantyFunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    (assume,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert assume["Principal"] == {"Service": "lambda.amazonaws.com"}
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${WarrantyLogGroup}"
        ":log-stream:*"
    }

    (perm,) = _resources_of_type(template, "AWS::Lambda::Permission").values()
    pp = perm["Properties"]
    assert pp["Principal"] == "bedrock-agentcore.amazonaws.com"
    assert pp["Action"] == "lambda:InvokeFunction"
    assert pp["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert pp["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:bedrock-agentcore:${AWS::Region}:${AWS::AccountId}:gateway/*"
    }
    assert pp["FunctionName"] == {"Fn::GetAtt": ["WarrantyFunction", "Arn"]}


def test_moto_gap_is_still_there() -> None:
    # Tripwire: when moto gains CloudFormation support for Cognito, the bridge above steps aside
    # automatically; this test then says so, so the module docstring and the report get updated.
    from moto.cloudformation.parsing import get_model_map

    native = set(get_model_map())
    assert {
        "AWS::Lambda::Function",
        "AWS::Lambda::Permission",
        "AWS::SSM::Parameter",
        "AWS::Logs::LogGroup",
    } <= native
    assert not native & set(COGNITO_TYPES), "moto now handles AWS::Cognito::* in CloudFormation natively"


# ------------------------------------------------------------------------------------- deployment on moto


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server on 127.0.0.1 with the Cognito CloudFormation bridge; stopped after the module."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto-cognito-cfn") / "moto.log"
    proc = start_process([sys.executable, str(Path(__file__)), "--serve-moto", str(port)], cwd=REPO, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/", proc)
        yield url
    finally:
        stop_process(proc)


def _env(moto_url: str, tmp_path: Path, path: str | None = None) -> dict[str, str]:
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


def _deploy(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _client(service: str, moto_url: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def deployed(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the real script once against moto; returns what the tests need to inspect the result."""
    tmp = tmp_path_factory.mktemp("deploy")
    suffix = uuid.uuid4().hex[:8]
    info = {
        "stack": f"cs-prereq-{suffix}",
        "domain": f"cs-test-{suffix}",
        "prefix": f"/test/{suffix}/agentcore/",
    }
    run = _deploy(
        _env(moto_url, tmp),
        tmp,  # any working directory: the script locates the template itself
        "--stack-name",
        info["stack"],
        "--domain-prefix",
        info["domain"],
        "--parameter-prefix",
        info["prefix"],
    )
    info["run"] = run
    return info


def test_deploy_script_completes_and_prints_next_steps(deployed: dict[str, Any], moto_url: str) -> None:
    run = deployed["run"]
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    for step in ("scripts/configure.sh", "agentcore validate", "agentcore deploy"):
        assert step in run.stdout
    stack = _client("cloudformation", moto_url).describe_stacks(StackName=deployed["stack"])["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["DomainPrefix"] == deployed["domain"]
    assert params["ParameterPrefix"] == deployed["prefix"]


def test_every_template_resource_was_created(
    deployed: dict[str, Any], moto_url: str, template: dict[str, Any]
) -> None:
    cfn = _client("cloudformation", moto_url)
    resources = cfn.describe_stack_resources(StackName=deployed["stack"])["StackResources"]
    created = {r["LogicalResourceId"]: r["ResourceType"] for r in resources}
    assert created == {logical_id: r["Type"] for logical_id, r in template["Resources"].items()}


def _ssm_values(deployed: dict[str, Any], moto_url: str) -> dict[str, str]:
    ssm = _client("ssm", moto_url)
    found = ssm.get_parameters_by_path(Path=deployed["prefix"], Recursive=True)["Parameters"]
    assert {p["Type"] for p in found} == {"String"}
    return {p["Name"].removeprefix(deployed["prefix"]): p["Value"] for p in found}


def test_ssm_parameters_point_at_the_created_resources(deployed: dict[str, Any], moto_url: str) -> None:
    values = _ssm_values(deployed, moto_url)
    assert set(values) == set(SSM_NAMES)
    idp = _client("cognito-idp", moto_url)

    pool_id = values["pool_id"]
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["Name"] == f"{deployed['stack']}-users"
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True

    clients = {
        c["ClientId"]
        for c in idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=10)["UserPoolClients"]
    }
    assert clients == {values["client_id"], values["user_client_id"]}

    assert values["cognito_discovery_url"] == (
        f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}/.well-known/openid-configuration"
    )
    # The issuer moto's pool actually publishes (= the tokens' iss) is what the URL must be built from.
    served = httpx.get(f"{moto_url}/{pool_id}/.well-known/openid-configuration", timeout=10).json()
    assert values["cognito_discovery_url"] == served["issuer"] + "/.well-known/openid-configuration"

    assert (
        values["cognito_token_url"]
        == f"https://{deployed['domain']}.auth.{REGION}.amazoncognito.com/oauth2/token"
    )
    domain = idp.describe_user_pool_domain(Domain=deployed["domain"])["DomainDescription"]
    assert domain["UserPoolId"] == pool_id

    assert values["cognito_auth_scope"] == "customersupport/invoke"
    server = idp.describe_resource_server(UserPoolId=pool_id, Identifier="customersupport")["ResourceServer"]
    assert [s["ScopeName"] for s in server["Scopes"]] == ["invoke"]

    fn = _client("lambda", moto_url).get_function(FunctionName=f"{deployed['stack']}-warranty-check")
    assert values["warranty_check_lambda_arn"] == fn["Configuration"]["FunctionArn"]


def test_machine_client_has_secret_and_client_credentials(deployed: dict[str, Any], moto_url: str) -> None:
    values = _ssm_values(deployed, moto_url)
    client = _client("cognito-idp", moto_url).describe_user_pool_client(
        UserPoolId=values["pool_id"], ClientId=values["client_id"]
    )["UserPoolClient"]
    assert client.get("ClientSecret")
    assert client["AllowedOAuthFlows"] == ["client_credentials"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthScopes"] == [values["cognito_auth_scope"]]
    # The secret stays in Cognito: not in SSM, not in the stack outputs, not in the script's output.
    run = deployed["run"]
    assert client["ClientSecret"] not in run.stdout + run.stderr
    assert client["ClientSecret"] not in json.dumps(values)


def test_user_client_has_no_secret_and_password_flows(deployed: dict[str, Any], moto_url: str) -> None:
    values = _ssm_values(deployed, moto_url)
    client = _client("cognito-idp", moto_url).describe_user_pool_client(
        UserPoolId=values["pool_id"], ClientId=values["user_client_id"]
    )["UserPoolClient"]
    assert "ClientSecret" not in client
    assert sorted(client["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]


def test_lambda_function_role_logs_and_permission(deployed: dict[str, Any], moto_url: str) -> None:
    lam = _client("lambda", moto_url)
    name = f"{deployed['stack']}-warranty-check"
    config = lam.get_function(FunctionName=name)["Configuration"]
    assert config["Runtime"] == "python3.13"
    assert config["Handler"] == "handler.lambda_handler"

    iam = _client("iam", moto_url)
    role_name = config["Role"].rsplit("/", 1)[1]
    assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == []
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):  # moto keeps a CloudFormation-made inline policy as a Python repr
        document = ast.literal_eval(document)
    (statement,) = document["Statement"]
    log_group = f"/aws/lambda/{name}"
    assert statement["Resource"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}:log-stream:*"
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]

    groups = _client("logs", moto_url).describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(log_group, 30)]

    (grant,) = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    assert grant["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert grant["Action"] == "lambda:InvokeFunction"
    assert grant["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT
    assert (
        grant["Condition"]["ArnLike"]["AWS:SourceArn"]
        == f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:gateway/*"
    )


def test_packaged_code_is_the_working_handler(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    # What `aws cloudformation package` uploaded is what Lambda runs: unzip it and call it like the gateway.
    s3 = _client("s3", moto_url)
    bucket = f"customersupport-cfn-{ACCOUNT}-{REGION}"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{deployed['stack']}/")["Contents"]]
    (key,) = keys
    archive = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    assert {"handler.py", "warranty_terms.json"} <= set(archive.namelist())
    archive.extractall(tmp_path)
    probe = (
        "import handler, types, datetime;"
        "ctx = types.SimpleNamespace(client_context=types.SimpleNamespace("
        "custom={'bedrockAgentCoreToolName': 'WarrantyCheck___check_warranty'}));"
        "print(handler.lambda_handler({'product_id': 'prod-002', 'purchase_date': '2025-01-31'}, ctx,"
        " today=datetime.date(2025, 6, 1))['coverage_end_date'])"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.stdout.strip() == "2027-01-31", run.stderr


# ------------------------------------------------------------------------------------- script failures


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def test_fails_clearly_when_aws_cli_is_missing(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname",):  # all the script runs before it looks for aws (besides builtins)
        real = subprocess.run(
            ["bash", "-c", f"command -v {tool}"], capture_output=True, text=True
        ).stdout.strip()
        (bin_dir / tool).symlink_to(real)
    env = _env("http://127.0.0.1:9", tmp_path, path=str(bin_dir))
    run = subprocess.run(
        ["/bin/bash", str(SCRIPT)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "deploy-prerequisites: error: the aws CLI is not on PATH "
        "(install AWS CLI v2, or 'uv sync' for the dev venv's awscli)"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stack-name", "9-starts-with-digit"], "--stack-name must start with a letter"),
        (["--stack-name", "x" * 50], "at most 49 characters"),
        (["--parameter-prefix", "no/leading/slash/"], "--parameter-prefix must look like"),
        (["--domain-prefix", "Upper_Case"], "--domain-prefix must be 1-63 lower-case"),
        (["--domain-prefix", "my-cognito-login"], "must not contain 'aws', 'amazon' or 'cognito'"),
        (["--bucket", "bucket-that-does-not-exist-1"], "bucket bucket-that-does-not-exist-1 does not exist"),
        (["--region"], "--region needs a value"),
        (["--frobnicate"], "unknown argument: --frobnicate"),
    ],
)
def test_invalid_input_fails_with_one_line(
    args: list[str], message: str, moto_url: str, tmp_path: Path
) -> None:
    run = _deploy(_env(moto_url, tmp_path), tmp_path, "--domain-prefix", "cs-valid-default", *args)
    assert run.returncode != 0
    assert run.stdout == ""
    last = _last_line(run.stderr)
    assert last.startswith("deploy-prerequisites: error: ") and message in last, run.stderr


def test_help_prints_usage_only(tmp_path: Path) -> None:
    run = subprocess.run(
        ["bash", str(SCRIPT), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0
    assert run.stdout.startswith("Deploy scripts/prerequisites.yaml")
    assert all(opt in run.stdout for opt in ("--stack-name", "--region", "--bucket", "--domain-prefix"))
    assert "set -euo" not in run.stdout


def test_failed_deployment_step_exits_non_zero(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    # A second stack may not take over the first one's SSM parameter names: CloudFormation refuses,
    # and the script must report that instead of printing next steps.
    suffix = uuid.uuid4().hex[:8]
    run = _deploy(
        _env(moto_url, tmp_path),
        tmp_path,
        "--stack-name",
        f"cs-clash-{suffix}",
        "--domain-prefix",
        f"cs-clash-{suffix}",
        "--parameter-prefix",
        deployed["prefix"],
    )
    assert run.returncode != 0
    assert "Next steps" not in run.stdout
    assert re.fullmatch(
        r"deploy-prerequisites: error: aws cloudformation deploy failed .*", _last_line(run.stderr)
    )
