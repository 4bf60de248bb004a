"""scripts/deploy/prerequisites.yaml (CloudFormation) and scripts/deploy/deploy-prerequisites.sh.

The template is linted, checked structurally, and deployed for real with the real script on a moto
server (``aws cloudformation package`` + ``deploy`` through the venv's aws CLI). That server, with the
CloudFormation bridge for the Cognito types moto lacks, and the deploy helpers live in
scripts/localdev/moto_stack.py (shared with tests/test_configure.py); its docstring lists the moto gaps.
"""

from __future__ import annotations

import ast
import io
import json
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from cfnlint.decode import cfn_yaml

from tests.support.aws import (
    ACCOUNT,
    COGNITO_TYPES,
    DEPLOY_SCRIPT,
    REGION,
    REPO,
    SSM_NAMES,
    TEMPLATE,
    VENV_BIN,
    aws_cli_env,
    boto_client,
    bridged_moto_server,
    deploy_prerequisites,
    run_deploy_script,
    ssm_values,
)


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
    # Administrators only, unless SelfSignUp=Enabled (then the PreSignUp trigger guards the door).
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] == {
        "Fn::If": ["SelfSignUpEnabled", False, True]
    }

    assert res["UserPoolDomain"]["Properties"] == {
        "Domain": {"Ref": "DomainPrefix"},
        "UserPoolId": {"Ref": "UserPool"},
        "ManagedLoginVersion": 2,  # Managed Login pages for the web chat's sign-in
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
    assert set(clients) == {"MachineClient", "UserClient", "WebClient"}
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

    assert clients["WebClient"]["DependsOn"] == "ResourceServer"
    web = clients["WebClient"]["Properties"]
    assert web["UserPoolId"] == {"Ref": "UserPool"}
    assert web["GenerateSecret"] is False  # public: the page cannot keep a secret
    # With a URL to return to (only then: Cognito wants callback URLs for the code flow).
    assert web["AllowedOAuthFlowsUserPoolClient"] == {"Fn::If": ["HasWebUrls", True, False]}
    no_value = {"Ref": "AWS::NoValue"}
    assert web["AllowedOAuthFlows"] == {"Fn::If": ["HasWebUrls", ["code"], no_value]}  # no implicit flow
    # The custom scope too: the front door's authorizer requires it on the web chat's access tokens.
    assert web["AllowedOAuthScopes"] == {
        "Fn::If": [
            "HasWebUrls",
            ["openid", "email", "profile", {"Fn::FindInMap": ["OAuth", "ResourceServer", "FullScope"]}],
            no_value,
        ]
    }
    assert web["CallbackURLs"] == {"Fn::If": ["HasWebUrls", {"Ref": "WebCallbackUrls"}, no_value]}
    assert web["LogoutURLs"] == {"Fn::If": ["HasWebUrls", {"Ref": "WebLogoutUrls"}, no_value]}
    assert web["EnableTokenRevocation"] is True  # sign-out revokes the refresh token
    assert "ALLOW_USER_PASSWORD_AUTH" not in web["ExplicitAuthFlows"]
    for name in ("WebCallbackUrls", "WebLogoutUrls"):
        assert template["Parameters"][name]["Type"] == "CommaDelimitedList"
    branding = _resources_of_type(template, "AWS::Cognito::ManagedLoginBranding")
    assert [b["Properties"] for b in branding.values()] == [
        {
            "UserPoolId": {"Ref": "UserPool"},
            "ClientId": {"Ref": "WebClient"},
            "UseCognitoProvidedValues": True,
        }
    ]


def test_template_pool_is_one_account_per_mailbox_and_outlives_the_stack(template: dict[str, Any]) -> None:
    pool = template["Resources"]["UserPool"]
    # Kept on stack delete and on a replacing update; Cognito refuses DeleteUserPool while ACTIVE.
    assert (pool["DeletionPolicy"], pool["UpdateReplacePolicy"]) == ("Retain", "Retain")
    props = pool["Properties"]
    assert props["DeletionProtection"] == "ACTIVE"
    # The e-mail address is the sign-in name, whatever its case: Dup@X and dup@x are one account.
    assert props["UsernameAttributes"] == ["email"]
    assert props["UsernameConfiguration"] == {"CaseSensitive": False}
    assert "AliasAttributes" not in props  # exclusive with UsernameAttributes
    # A new address counts only once its code came back from that mailbox.
    assert props["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert props["AutoVerifiedAttributes"] == ["email"]


def test_template_threat_protection_is_on_by_default_with_the_plan_it_needs(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["ThreatProtection"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("ENFORCED", ["ENFORCED", "AUDIT", "OFF"])
    assert template["Conditions"]["ThreatProtectionOn"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ThreatProtection"}, "OFF"]}]
    }
    props = template["Resources"]["UserPool"]["Properties"]
    assert props["UserPoolAddOns"] == {"AdvancedSecurityMode": {"Ref": "ThreatProtection"}}
    # Threat protection exists on the Plus plan only; Managed Login v2 needs Essentials at least.
    assert props["UserPoolTier"] == {"Fn::If": ["ThreatProtectionOn", "PLUS", "ESSENTIALS"]}


def test_template_mail_goes_through_ses_when_the_operator_names_an_identity(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["SesIdentityArn"]
    assert parameter["Default"] == ""
    pattern = parameter["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.com")
    for bad in ("example.com", f"arn:aws:sns:{REGION}:{ACCOUNT}:identity/x", "arn:aws:ses:r:1:identity/x y"):
        assert not re.fullmatch(pattern, bad), bad
    assert template["Conditions"]["MailThroughSes"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SesIdentityArn"}, ""]}]
    }
    email = template["Resources"]["UserPool"]["Properties"]["EmailConfiguration"]
    assert email == {
        "Fn::If": [
            "MailThroughSes",
            {
                "EmailSendingAccount": "DEVELOPER",
                "SourceArn": {"Ref": "SesIdentityArn"},
                "From": {"Fn::If": ["MailFromAddress", {"Ref": "SesFromAddress"}, {"Ref": "AWS::NoValue"}]},
            },
            {"EmailSendingAccount": "COGNITO_DEFAULT"},
        ]
    }


def test_template_web_client_rotates_refresh_tokens(template: dict[str, Any]) -> None:
    web = template["Resources"]["WebClient"]["Properties"]
    # Every refresh returns a new refresh token and retires the old one at once (no grace period).
    assert web["RefreshTokenRotation"] == {"Feature": "ENABLED", "RetryGracePeriodSeconds": 0}
    # Rotation and InitiateAuth's REFRESH_TOKEN_AUTH exclude each other: the chat refreshes at the
    # token endpoint (grant_type=refresh_token).
    assert web["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH"]
    assert (web["RefreshTokenValidity"], web["TokenValidityUnits"]["RefreshToken"]) == (12, "hours")


def test_template_callbacks_are_only_what_the_operator_passes(template: dict[str, Any]) -> None:
    for name in ("WebCallbackUrls", "WebLogoutUrls"):
        assert template["Parameters"][name]["Default"] == ""  # no localhost unless asked
    assert "localhost" not in json.dumps(template["Resources"])
    assert template["Conditions"]["HasWebUrls"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": [",", {"Ref": "WebCallbackUrls"}]}, ""]}]
    }


SIGN_UP_RESOURCES = {"PreSignUpLogGroup", "PreSignUpRole", "PreSignUpFunction", "PreSignUpInvokePermission"}


def test_template_sign_up_is_off_by_default_and_the_trigger_only_exists_when_on(
    template: dict[str, Any],
) -> None:
    assert template["Parameters"]["SelfSignUp"]["Default"] == "Disabled"
    assert template["Parameters"]["SelfSignUp"]["AllowedValues"] == ["Enabled", "Disabled"]
    assert template["Parameters"]["OrganizationDomain"]["Default"] == ""
    assert template["Conditions"]["SelfSignUpEnabled"] == {"Fn::Equals": [{"Ref": "SelfSignUp"}, "Enabled"]}
    pool = template["Resources"]["UserPool"]["Properties"]
    function = {"Fn::GetAtt": ["PreSignUpFunction", "Arn"]}
    assert pool["LambdaConfig"] == {
        "PreSignUp": {"Fn::If": ["SelfSignUpEnabled", function, {"Ref": "AWS::NoValue"}]},
        # The same function at every sign-in and refresh: a changed address outside the domains gets
        # no tokens. V1_0: user tokens only (machine tokens need V3_0 to reach a trigger).
        "PreTokenGenerationConfig": {
            "Fn::If": [
                "SelfSignUpEnabled",
                {"LambdaArn": function, "LambdaVersion": "V1_0"},
                {"Ref": "AWS::NoValue"},
            ]
        },
    }
    assert pool["AutoVerifiedAttributes"] == ["email"]  # the admitted address is proven by a code
    conditioned = {k for k, v in template["Resources"].items() if "Condition" in v}
    assert conditioned == SIGN_UP_RESOURCES
    assert {template["Resources"][k]["Condition"] for k in conditioned} == {"SelfSignUpEnabled"}


def test_template_trigger_runs_the_handler_with_the_domains_and_only_this_pool_may_call_it(
    template: dict[str, Any],
) -> None:
    res = template["Resources"]
    fn = res["PreSignUpFunction"]["Properties"]
    assert fn["Code"] == "../../app/PreSignUp/"
    assert (TEMPLATE.parent / fn["Code"] / "handler.py").is_file()
    assert fn["Handler"] == "handler.lambda_handler"
    assert fn["Environment"]["Variables"] == {"ORGANIZATION_DOMAIN": {"Ref": "OrganizationDomain"}}
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": "PreSignUpLogGroup"}
    permission = res["PreSignUpInvokePermission"]["Properties"]
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    role = res["PreSignUpRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    ((statement,),) = [p["PolicyDocument"]["Statement"] for p in role["Policies"]]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]


def test_template_customers_cannot_change_their_address_with_their_own_token(
    template: dict[str, Any],
) -> None:
    writable = template["Mappings"]["Attributes"]["Writable"]
    assert "email" not in writable["WithoutEmail"]
    assert writable["WithEmail"] == [*writable["WithoutEmail"], "email"]
    assert not {"email_verified", "phone_number", "phone_number_verified"} & set(writable["WithEmail"])
    without = {"Fn::FindInMap": ["Attributes", "Writable", "WithoutEmail"]}
    with_email = {"Fn::FindInMap": ["Attributes", "Writable", "WithEmail"]}
    clients = template["Resources"]
    # The CLI client never writes it; the web client only where sign-up needs it (the trigger re-checks).
    assert clients["UserClient"]["Properties"]["WriteAttributes"] == without
    assert clients["WebClient"]["Properties"]["WriteAttributes"] == {
        "Fn::If": ["SelfSignUpEnabled", with_email, without]
    }
    assert "WriteAttributes" not in clients["MachineClient"]["Properties"]  # no users behind it


EDGE_RESOURCES = {"EdgeGrantSecret", "EdgeNonceTable", "EdgeRuntimePolicy"}


def test_template_edge_grant_key_ledger_and_the_runtimes_policy(template: dict[str, Any]) -> None:
    res = template["Resources"]
    secret = res["EdgeGrantSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    # Generated by Secrets Manager: >= 32 characters (the agent's minimum), letters and digits only.
    assert secret["Properties"]["GenerateSecretString"] == {
        "PasswordLength": 64,
        "ExcludePunctuation": True,
        "IncludeSpace": False,
    }
    assert "SecretString" not in secret["Properties"]  # no key in the template
    table = res["EdgeNonceTable"]
    assert "DeletionPolicy" not in table  # nothing durable: deleted with the stack
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "nonce", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "nonce", "AttributeType": "S"}]
    # The agent's DynamoNonceLedger writes `expires` (epoch seconds): DynamoDB removes old nonces.
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert "PointInTimeRecoverySpecification" not in props
    policy = res["EdgeRuntimePolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert policy["Properties"]["Path"] == "/customersupport-edge/"  # configure.sh recognises its entry
    assert not {"Roles", "Users", "Groups", "ManagedPolicyName"} & set(policy["Properties"])
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Sid": "ReadEdgeGrantKey",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": "EdgeGrantSecret"},
        },
        {
            "Sid": "ClaimEdgeGrantNonces",
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": {"Fn::GetAtt": ["EdgeNonceTable", "Arn"]},
        },
    ]
    assert not EDGE_RESOURCES & {k for k, v in res.items() if "Condition" in v}  # always there


def test_template_feedback_policy_is_for_the_runtime_to_attach(template: dict[str, Any]) -> None:
    policy = template["Resources"]["FeedbackWritePolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert policy["Properties"]["Path"] == "/customersupport-feedback/"  # configure.sh recognises its entry
    assert not {"Roles", "Users", "Groups", "ManagedPolicyName"} & set(policy["Properties"])
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
            "Resource": {"Fn::GetAtt": ["FeedbackTable", "Arn"]},
        }
    ]


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
    assert value["web_client_id"] == {"Ref": "WebClient"}
    assert value["cognito_domain_url"] == {
        "Fn::Sub": "https://${DomainPrefix}.auth.${AWS::Region}.amazoncognito.com"
    }
    assert value["cognito_discovery_url"] == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}/.well-known/openid-configuration"
    }
    assert value["cognito_token_url"] == {
        "Fn::Sub": "https://${DomainPrefix}.auth.${AWS::Region}.amazoncognito.com/oauth2/token"
    }
    assert value["cognito_auth_scope"] == {"Fn::FindInMap": ["OAuth", "ResourceServer", "FullScope"]}
    assert value["warranty_check_lambda_arn"] == {"Fn::GetAtt": ["WarrantyFunction", "Arn"]}
    assert value["account_tools_lambda_arn"] == {"Fn::GetAtt": ["AccountToolsFunction", "Arn"]}
    assert value["orders_table_name"] == {"Ref": "OrdersTable"}
    assert value["feedback_table_name"] == {"Ref": "FeedbackTable"}
    assert value["feedback_write_policy_arn"] == {"Ref": "FeedbackWritePolicy"}
    assert value["edge_grant_secret_arn"] == {"Ref": "EdgeGrantSecret"}  # the ARN, never the key
    assert value["edge_nonce_table_name"] == {"Ref": "EdgeNonceTable"}
    assert value["edge_runtime_policy_arn"] == {"Ref": "EdgeRuntimePolicy"}
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
        "WebClientId": params["web_client_id"],
        "CognitoDomainUrl": params["cognito_domain_url"],
        "CognitoDiscoveryUrl": params["cognito_discovery_url"],
        "CognitoTokenUrl": params["cognito_token_url"],
        "CognitoAuthScope": params["cognito_auth_scope"],
        "WarrantyCheckLambdaArn": params["warranty_check_lambda_arn"],
        "AccountToolsLambdaArn": params["account_tools_lambda_arn"],
        "OrdersTableName": params["orders_table_name"],
        "RequestsTableName": params["requests_table_name"],
        "AuditTableName": params["audit_table_name"],
        "ParameterPrefix": {"Ref": "ParameterPrefix"},
        "EdgeGrantSecretArn": params["edge_grant_secret_arn"],
        "EdgeNonceTableName": params["edge_nonce_table_name"],
        "EdgeRuntimePolicyArn": params["edge_runtime_policy_arn"],
        "FeedbackTableName": params["feedback_table_name"],
        "FeedbackWritePolicyArn": params["feedback_write_policy_arn"],
    }


def test_template_structure_lambda_least_privilege(template: dict[str, Any]) -> None:
    res = template["Resources"]
    fn = res["WarrantyFunction"]["Properties"]
    assert fn["Runtime"] == "python3.13"
    assert fn["Handler"] == "handler.lambda_handler"
    assert fn["Code"] == "../../app/WarrantyCheck/"
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

    pp = res["WarrantyInvokePermission"]["Properties"]
    assert pp["Principal"] == "bedrock-agentcore.amazonaws.com"
    assert pp["Action"] == "lambda:InvokeFunction"
    assert pp["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert pp["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:bedrock-agentcore:${AWS::Region}:${AWS::AccountId}:gateway/*"
    }
    assert pp["FunctionName"] == {"Fn::GetAtt": ["WarrantyFunction", "Arn"]}


@pytest.mark.parametrize(
    ("resource", "sort_key"),
    [("OrdersTable", "order_id"), ("RequestsTable", "record_id"), ("AuditTable", "audit_id")],
)
def test_template_customer_tables_are_keyed_by_customer_and_protected(
    template: dict[str, Any], resource: str, sort_key: str
) -> None:
    table = template["Resources"][resource]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "customer_id", "KeyType": "HASH"},
        {"AttributeName": sort_key, "KeyType": "RANGE"},
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    # The only read path is the customer's partition: no index could look an order up by its id.
    assert not {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"} & set(props)


def test_the_ticket_bound_defaults_agree(template: dict[str, Any]) -> None:
    if str(REPO / "app" / "AccountTools") not in sys.path:
        sys.path.insert(0, str(REPO / "app" / "AccountTools"))
    from write_tools import DEFAULT_MAX_OPEN_TICKETS, MAX_OPEN_TICKETS_ENV

    assert template["Parameters"]["MaxOpenTicketsPerCustomer"]["Default"] == DEFAULT_MAX_OPEN_TICKETS
    variables = template["Resources"]["AccountToolsFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[MAX_OPEN_TICKETS_ENV] == {"Ref": "MaxOpenTicketsPerCustomer"}


def test_template_account_tools_may_only_read_orders_by_key(template: dict[str, Any]) -> None:
    res = template["Resources"]
    fn = res["AccountToolsFunction"]["Properties"]
    assert (fn["Runtime"], fn["Handler"], fn["Code"]) == (
        "python3.13",
        "handler.lambda_handler",
        "../../app/AccountTools/",
    )
    assert fn["Environment"]["Variables"] == {
        "ORDERS_TABLE_NAME": {"Ref": "OrdersTable"},
        "REQUESTS_TABLE_NAME": {"Ref": "RequestsTable"},
        "AUDIT_TABLE_NAME": {"Ref": "AuditTable"},
        "MAX_OPEN_TICKETS": {"Ref": "MaxOpenTicketsPerCustomer"},
    }
    assert fn["Role"] == {"Fn::GetAtt": ["AccountToolsFunctionRole", "Arn"]}
    role = res["AccountToolsFunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [sorted(s["Action"]) for s in statements] == [
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        ["dynamodb:GetItem", "dynamodb:Query"],
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
        ["dynamodb:PutItem"],
    ]
    # Returns and tickets: no Scan, no DeleteItem. The audit trail: append only (no read, update, delete).
    assert statements[2]["Resource"] == {"Fn::GetAtt": ["RequestsTable", "Arn"]}
    assert statements[3] == {
        "Effect": "Allow",
        "Action": ["dynamodb:PutItem"],
        "Resource": {"Fn::GetAtt": ["AuditTable", "Arn"]},
    }
    assert statements[1] == {
        "Effect": "Allow",
        "Action": ["dynamodb:Query", "dynamodb:GetItem"],
        "Resource": {"Fn::GetAtt": ["OrdersTable", "Arn"]},
    }
    pp = res["AccountToolsInvokePermission"]["Properties"]
    assert pp["Principal"] == "bedrock-agentcore.amazonaws.com"
    assert pp["FunctionName"] == {"Fn::GetAtt": ["AccountToolsFunction", "Arn"]}
    assert pp["SourceArn"] == res["WarrantyInvokePermission"]["Properties"]["SourceArn"]


def test_moto_gap_is_still_there() -> None:
    # Tripwire: when moto gains CloudFormation support for Cognito, the bridge (localdev/moto_stack.py)
    # steps aside automatically; this test then says so, so its docstring and the report get updated.
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
    with bridged_moto_server(tmp_path_factory.mktemp("moto-cognito-cfn") / "moto.log") as url:
        yield url


@pytest.fixture(scope="module")
def deployed(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the real script once against moto; returns what the tests need to inspect the result."""
    return deploy_prerequisites(moto_url, tmp_path_factory.mktemp("deploy"))


def test_deploy_script_completes_and_prints_next_steps(deployed: dict[str, Any], moto_url: str) -> None:
    run = deployed["run"]
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    for step in (
        "scripts/deploy/configure.sh",
        "agentcore validate",
        "agentcore deploy",
        "scripts/deploy/deploy-frontdoor.sh",
        # Edge grants: where the runtime's policy comes from, and the order for an older runtime.
        "EdgeRuntimePolicyArn",
        "run step 4 before steps 1-3",
    ):
        assert step in run.stdout
    stack = boto_client("cloudformation", moto_url).describe_stacks(StackName=deployed["stack"])["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["DomainPrefix"] == deployed["domain"]
    assert params["ParameterPrefix"] == deployed["prefix"]


def _stack_resources(moto_url: str, stack: str) -> list[dict[str, Any]]:
    resources = boto_client("cloudformation", moto_url).describe_stack_resources(StackName=stack)
    # moto lists a resource its condition left out as an entry without id or type; CloudFormation omits it.
    return [r for r in resources["StackResources"] if "LogicalResourceId" in r]


def test_every_template_resource_was_created(
    deployed: dict[str, Any], moto_url: str, template: dict[str, Any]
) -> None:
    resources = _stack_resources(moto_url, deployed["stack"])
    created = {r["LogicalResourceId"]: r["ResourceType"] for r in resources}
    # SelfSignUp is Disabled by default: the trigger and its role, logs and grant are not created.
    assert created == {
        logical_id: r["Type"]
        for logical_id, r in template["Resources"].items()
        if logical_id not in SIGN_UP_RESOURCES
    }


def _ssm_values(deployed: dict[str, Any], moto_url: str) -> dict[str, str]:
    values = ssm_values(deployed["prefix"], moto_url)
    assert values, f"no SSM parameters under {deployed['prefix']}"
    return values


def test_ssm_parameters_point_at_the_created_resources(deployed: dict[str, Any], moto_url: str) -> None:
    values = _ssm_values(deployed, moto_url)
    assert set(values) == set(SSM_NAMES)
    idp = boto_client("cognito-idp", moto_url)

    pool_id = values["pool_id"]
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["Name"] == f"{deployed['stack']}-users"
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert "PreSignUp" not in pool.get("LambdaConfig", {})

    clients = {
        c["ClientId"]
        for c in idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=10)["UserPoolClients"]
    }
    assert clients == {values["client_id"], values["user_client_id"], values["web_client_id"]}

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
    assert values["cognito_domain_url"] == f"https://{deployed['domain']}.auth.{REGION}.amazoncognito.com"

    assert values["cognito_auth_scope"] == "customersupport/invoke"
    server = idp.describe_resource_server(UserPoolId=pool_id, Identifier="customersupport")["ResourceServer"]
    assert [s["ScopeName"] for s in server["Scopes"]] == ["invoke"]

    fn = boto_client("lambda", moto_url).get_function(FunctionName=f"{deployed['stack']}-warranty-check")
    assert values["warranty_check_lambda_arn"] == fn["Configuration"]["FunctionArn"]
    fn = boto_client("lambda", moto_url).get_function(FunctionName=f"{deployed['stack']}-account-tools")
    assert values["account_tools_lambda_arn"] == fn["Configuration"]["FunctionArn"]
    # str(): moto keeps the Number parameter's int; Lambda's environment holds strings.
    assert {k: str(v) for k, v in fn["Configuration"]["Environment"]["Variables"].items()} == {
        "ORDERS_TABLE_NAME": values["orders_table_name"],
        "REQUESTS_TABLE_NAME": values["requests_table_name"],
        "AUDIT_TABLE_NAME": values["audit_table_name"],
        "MAX_OPEN_TICKETS": "3",
    }
    for kind, sort_key in (("orders", "order_id"), ("requests", "record_id"), ("audit", "audit_id")):
        name = values[f"{kind}_table_name"]
        table = boto_client("dynamodb", moto_url).describe_table(TableName=name)["Table"]
        assert name == f"{deployed['stack']}-{kind}"
        assert [k["AttributeName"] for k in table["KeySchema"]] == ["customer_id", sort_key]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["DeletionProtectionEnabled"] is True and not table.get("GlobalSecondaryIndexes")
        with pytest.raises(ClientError):  # deletion protection holds (moto gap 11: PITR and SSE do not show)
            boto_client("dynamodb", moto_url).delete_table(TableName=name)
    ratings = boto_client("dynamodb", moto_url).describe_table(TableName=values["feedback_table_name"])[
        "Table"
    ]
    assert [k["AttributeName"] for k in ratings["KeySchema"]] == ["customer_id", "trace_id"]
    assert ratings["DeletionProtectionEnabled"] is True
    # The runtime's ratings policy: under the path configure.sh recognises, writes to that table only.
    iam = boto_client("iam", moto_url)
    arn = values["feedback_write_policy_arn"]
    assert arn.startswith(f"arn:aws:iam::{ACCOUNT}:policy/customersupport-feedback/")
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    assert [(s["Action"], s["Resource"]) for s in document["Document"]["Statement"]] == [
        (["dynamodb:PutItem", "dynamodb:UpdateItem"], ratings["TableArn"])
    ]
    assert policy["AttachmentCount"] == 0  # agentcore deploy attaches it (additionalPolicies)


def test_machine_client_has_secret_and_client_credentials(deployed: dict[str, Any], moto_url: str) -> None:
    values = _ssm_values(deployed, moto_url)
    client = boto_client("cognito-idp", moto_url).describe_user_pool_client(
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
    client = boto_client("cognito-idp", moto_url).describe_user_pool_client(
        UserPoolId=values["pool_id"], ClientId=values["user_client_id"]
    )["UserPoolClient"]
    assert "ClientSecret" not in client
    assert sorted(client["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]


def test_lambda_function_role_logs_and_permission(deployed: dict[str, Any], moto_url: str) -> None:
    lam = boto_client("lambda", moto_url)
    name = f"{deployed['stack']}-warranty-check"
    config = lam.get_function(FunctionName=name)["Configuration"]
    assert config["Runtime"] == "python3.13"
    assert config["Handler"] == "handler.lambda_handler"

    iam = boto_client("iam", moto_url)
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

    groups = boto_client("logs", moto_url).describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(log_group, 30)]

    (grant,) = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    assert grant["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert grant["Action"] == "lambda:InvokeFunction"
    assert grant["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT
    assert (
        grant["Condition"]["ArnLike"]["AWS:SourceArn"]
        == f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:gateway/*"
    )


def _packaged_archives(moto_url: str, stack: str) -> list[zipfile.ZipFile]:
    s3 = boto_client("s3", moto_url)
    bucket = f"customersupport-cfn-{ACCOUNT}-{REGION}"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{stack}/")["Contents"]]
    return [zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in keys]


def test_packaged_code_is_the_working_handler(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    # What `aws cloudformation package` uploaded is what Lambda runs: unzip it and call it like the gateway.
    s3 = boto_client("s3", moto_url)
    bucket = f"customersupport-cfn-{ACCOUNT}-{REGION}"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    archives = _packaged_archives(moto_url, deployed["stack"])
    # `package` uploads every local Code path, the (conditional) PreSignUp trigger's too.
    assert len(archives) == 3
    (archive,) = [
        a for a in archives if "warranty_terms.json" in a.namelist() and "orders_store.py" not in a.namelist()
    ]
    # AccountTools' bundle carries WarrantyCheck's code and terms (links in the repository) as files.
    (account,) = [a for a in archives if "orders_store.py" in a.namelist()]
    assert account.read("warranty_terms.json") == archive.read("warranty_terms.json")
    assert account.read("warranty_check.py") == archive.read("handler.py")
    assert "handler.py" in archive.namelist()
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
    env = aws_cli_env("http://127.0.0.1:9", tmp_path, path=str(bin_dir))
    # A copy without the project's .venv beside it: no awscli to fall back on.
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / DEPLOY_SCRIPT.name
    shutil.copy(DEPLOY_SCRIPT, script)
    shutil.copy(TEMPLATE, tmp_path / "scripts" / TEMPLATE.name)
    shutil.copy(DEPLOY_SCRIPT.with_name("deploy-lib.sh"), tmp_path / "scripts")
    run = subprocess.run(
        ["/bin/bash", str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "deploy-prerequisites: error: the aws CLI is not on PATH (install AWS CLI v2, or run "
        "'scripts/run true' once: the project's awscli in .venv/bin is used when aws is not on PATH)"
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
        (["--web-url", "http://chat.example.com/"], "--web-url must be https URLs"),
        (["--web-url", "https://a.example/ https://b.example/"], "--web-url must be https URLs"),
        (["--self-sign-up", "yes"], "--self-sign-up takes on or off"),
        (["--self-sign-up", "on"], "--self-sign-up on needs --organization-domain"),
        (["--organization-domain", "example.com;evil.test"], "--organization-domain must be domains"),
        (["--threat-protection", "maybe"], "--threat-protection takes enforced, audit or off"),
        (["--ses-identity-arn", "no-reply@example.com"], "--ses-identity-arn must be an SES identity ARN"),
        (["--email-from", "Support <no-reply@example.com>"], "--email-from needs --ses-identity-arn"),
        (["--frobnicate"], "unknown argument: --frobnicate"),
    ],
)
def test_invalid_input_fails_with_one_line(
    args: list[str], message: str, moto_url: str, tmp_path: Path
) -> None:
    run = run_deploy_script(
        aws_cli_env(moto_url, tmp_path), tmp_path, "--domain-prefix", "cs-valid-default", *args
    )
    assert run.returncode != 0
    assert run.stdout == ""
    last = _last_line(run.stderr)
    assert last.startswith("deploy-prerequisites: error: ") and message in last, run.stderr


def test_help_prints_usage_only(tmp_path: Path) -> None:
    run = subprocess.run(
        ["bash", str(DEPLOY_SCRIPT), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0
    assert run.stdout.startswith("Deploy scripts/deploy/prerequisites.yaml")
    assert all(
        opt in run.stdout
        for opt in (
            "--stack-name",
            "--region",
            "--bucket",
            "--domain-prefix",
            "--web-url",
            "--self-sign-up on|off",
            "--organization-domain",
            "$ORGANIZATION_DOMAIN",
            "--threat-protection enforced|audit|off",
            "--ses-identity-arn",
            "--email-from",
        )
    )
    assert "default: http://localhost" not in run.stdout  # production accepts no localhost unless asked
    assert "set -euo" not in run.stdout


def test_failed_deployment_step_exits_non_zero(
    deployed: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    # A second stack may not take over the first one's SSM parameter names: CloudFormation refuses,
    # and the script must report that instead of printing next steps.
    suffix = uuid.uuid4().hex[:8]
    run = run_deploy_script(
        aws_cli_env(moto_url, tmp_path),
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


def test_web_client_is_public_and_accepts_no_url_until_one_is_passed(
    deployed: dict[str, Any], moto_url: str
) -> None:
    values = _ssm_values(deployed, moto_url)
    client = boto_client("cognito-idp", moto_url).describe_user_pool_client(
        UserPoolId=values["pool_id"], ClientId=values["web_client_id"]
    )["UserPoolClient"]
    assert "ClientSecret" not in client
    # No --web-url: no localhost, no sign-in at all until the front door registers its site.
    assert client["AllowedOAuthFlowsUserPoolClient"] is False
    assert [
        k for k in ("AllowedOAuthFlows", "AllowedOAuthScopes", "CallbackURLs", "LogoutURLs") if k in client
    ] == []
    assert client["RefreshTokenRotation"] == {"Feature": "ENABLED", "RetryGracePeriodSeconds": 0}
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH"]
    assert "Self sign-up is on" not in deployed["run"].stdout  # sign-up is off: no mail limit to state


def test_deployed_pool_signs_in_by_email_with_threat_protection(
    deployed: dict[str, Any], moto_url: str
) -> None:
    values = _ssm_values(deployed, moto_url)
    pool = boto_client("cognito-idp", moto_url).describe_user_pool(UserPoolId=values["pool_id"])["UserPool"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["DeletionProtection"] == "ACTIVE"
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    # The defaults: threat protection enforced (Plus plan), Cognito's own sender.
    assert (pool["UserPoolTier"], pool["UserPoolAddOns"]) == ("PLUS", {"AdvancedSecurityMode": "ENFORCED"})
    assert pool["EmailConfiguration"] == {"EmailSendingAccount": "COGNITO_DEFAULT"}


def test_deployed_edge_grant_key_ledger_and_policy(deployed: dict[str, Any], moto_url: str) -> None:
    values = _ssm_values(deployed, moto_url)
    # The key: generated, long enough for the agent (MIN_KEY_CHARS 32), letters and digits only.
    secrets = boto_client("secretsmanager", moto_url)
    key = secrets.get_secret_value(SecretId=values["edge_grant_secret_arn"])["SecretString"]
    assert len(key) == 64 and key.isalnum()
    assert values["edge_grant_secret_arn"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:")
    assert key not in deployed["run"].stdout + deployed["run"].stderr  # only the ARN is ever printed
    # The ledger the agent's DynamoNonceLedger writes to: one string key, on demand.
    dynamodb = boto_client("dynamodb", moto_url)
    table = dynamodb.describe_table(TableName=values["edge_nonce_table_name"])["Table"]
    assert table["TableName"] == f"{deployed['stack']}-edge-nonces"
    assert table["KeySchema"] == [{"AttributeName": "nonce", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # The runtime's policy names exactly these two resources.
    iam = boto_client("iam", moto_url)
    arn = values["edge_runtime_policy_arn"]
    assert arn.startswith(f"arn:aws:iam::{ACCOUNT}:policy/customersupport-edge/")
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    statements = document["Document"]["Statement"]
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("secretsmanager:GetSecretValue", values["edge_grant_secret_arn"]),
        ("dynamodb:PutItem", table["TableArn"]),
    ]
    assert policy["AttachmentCount"] == 0  # agentcore deploy attaches it (additionalPolicies)
    assert f"EdgeRuntimePolicyArn\t{arn}" in deployed["run"].stdout or "no outputs" in deployed["run"].stdout


def test_moto_does_not_enforce_case_folding_or_deletion_protection(moto_url: str) -> None:
    # Tripwire for what the deployed-pool tests cannot show on moto (docs/edge.md): Cognito refuses a
    # second account whose address differs only in case, and refuses to delete a protected pool.
    # moto does neither. When it learns to, this fails: then test both on the deployed pool instead.
    idp = boto_client("cognito-idp", moto_url)
    pool_id = idp.create_user_pool(
        PoolName=f"tripwire-{uuid.uuid4().hex[:8]}",
        UsernameAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
        DeletionProtection="ACTIVE",
    )["UserPool"]["Id"]
    for address in ("dup@example.com", "Dup@Example.COM"):
        idp.admin_create_user(
            UserPoolId=pool_id, Username=address, UserAttributes=[{"Name": "email", "Value": address}]
        )
    assert len(idp.list_users(UserPoolId=pool_id)["Users"]) == 2
    idp.delete_user_pool(UserPoolId=pool_id)


# ------------------------------------------------------------------------------------- self sign-up on moto


@pytest.fixture(scope="module")
def with_sign_up(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A second stack deployed with --self-sign-up on (domains from ORGANIZATION_DOMAIN's option)."""
    return deploy_prerequisites(
        moto_url,
        tmp_path_factory.mktemp("deploy-sign-up"),
        "--self-sign-up",
        "on",
        "--organization-domain",
        "example.com,example.org",
    )


def test_self_sign_up_on_wires_the_trigger_to_the_pool(with_sign_up: dict[str, Any], moto_url: str) -> None:
    run = with_sign_up["run"]
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    values = ssm_values(with_sign_up["prefix"], moto_url)
    pool = boto_client("cognito-idp", moto_url).describe_user_pool(UserPoolId=values["pool_id"])["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert pool["AutoVerifiedAttributes"] == ["email"]

    lam = boto_client("lambda", moto_url)
    name = f"{with_sign_up['stack']}-pre-sign-up"
    config = lam.get_function(FunctionName=name)["Configuration"]
    assert pool["LambdaConfig"] == {
        "PreSignUp": config["FunctionArn"],
        "PreTokenGenerationConfig": {"LambdaArn": config["FunctionArn"], "LambdaVersion": "V1_0"},
    }
    # Sign-up on without SES: the script states the default sender's daily limit where it is switched on.
    assert "Self sign-up is on and Cognito's default sender" in run.stdout
    assert "at most\n50 e-mails a day" in run.stdout and "--ses-identity-arn" in run.stdout
    assert config["Handler"] == "handler.lambda_handler"
    assert config["Environment"]["Variables"] == {"ORGANIZATION_DOMAIN": "example.com,example.org"}
    (grant,) = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    assert grant["Principal"] == {"Service": "cognito-idp.amazonaws.com"}
    assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == pool["Arn"]  # only this pool


def test_self_sign_up_packaged_trigger_admits_only_the_domains(
    with_sign_up: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    # moto runs Lambdas only in Docker: unzip what was uploaded and call it as Cognito would.
    (archive,) = [
        a
        for a in _packaged_archives(moto_url, with_sign_up["stack"])
        if "warranty_terms.json" not in a.namelist()
    ]
    assert archive.namelist() == ["handler.py"]
    archive.extractall(tmp_path)
    probe = (
        "import handler, json, sys\n"
        "for arg in sys.argv[1:]:\n"
        "    trigger, _, email = arg.rpartition(' ')\n"
        "    event = {'triggerSource': trigger or 'PreSignUp_SignUp',"
        " 'request': {'userAttributes': {'email': email}}, 'response': {}}\n"
        "    try:\n"
        "        print(email, handler.lambda_handler(event, None) == event)\n"
        "    except handler.SignUpRejected as refused:\n"
        "        print(email, 'refused:', refused)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, "ann@example.org", "bob@evil-example.com"]
        # As the pool's pre token generation trigger (V1_0 event): an address changed since sign-up.
        + ["TokenGeneration_RefreshTokens bob@example.com", "TokenGeneration_RefreshTokens bob@gmail.com"],
        cwd=tmp_path,
        env={"ORGANIZATION_DOMAIN": "example.com,example.org", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout.splitlines() == [
        "ann@example.org True",
        "bob@evil-example.com refused: Sign-up is limited to e-mail addresses of our organization; "
        "use your work address.",
        "bob@example.com True",
        "bob@gmail.com refused: Sign-up is limited to e-mail addresses of our organization; "
        "use your work address.",
    ], run.stderr


def test_re_run_keeps_the_values_it_is_not_given(
    with_sign_up: dict[str, Any], moto_url: str, tmp_path: Path
) -> None:
    # Only --web-url changes (what scripts/deploy/deploy-frontdoor.sh's step amounts to); the sign-up policy
    # stays as deployed and the web client is updated in place. Switching SelfSignUp off again on
    # moto is not tested: moto gap 9 (scripts/localdev/moto_stack.py).
    env = aws_cli_env(moto_url, tmp_path)
    common = ["--stack-name", with_sign_up["stack"], "--domain-prefix", with_sign_up["domain"]]
    common += ["--parameter-prefix", with_sign_up["prefix"]]
    ses = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.com"
    run = run_deploy_script(
        env,
        tmp_path,
        *common,
        *("--web-url", "http://localhost:8765/,https://d111.cloudfront.net/"),
        *("--ses-identity-arn", ses, "--email-from", "Support <no-reply@example.com>"),
    )
    assert run.returncode == 0, run.stderr
    assert "Self sign-up is on" not in run.stdout  # mail goes through SES now: no daily limit to state
    cfn = boto_client("cloudformation", moto_url)

    def parameters() -> dict[str, str]:
        stack = cfn.describe_stacks(StackName=with_sign_up["stack"])["Stacks"][0]
        return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}

    assert parameters()["SelfSignUp"] == "Enabled"
    assert parameters()["OrganizationDomain"] == "example.com,example.org"
    values = ssm_values(with_sign_up["prefix"], moto_url)
    idp = boto_client("cognito-idp", moto_url)
    pool = idp.describe_user_pool(UserPoolId=values["pool_id"])["UserPool"]
    assert pool["EmailConfiguration"] == {
        "EmailSendingAccount": "DEVELOPER",
        "SourceArn": ses,
        "From": "Support <no-reply@example.com>",
    }
    web = idp.describe_user_pool_client(UserPoolId=values["pool_id"], ClientId=values["web_client_id"])
    assert web["UserPoolClient"]["CallbackURLs"] == ["http://localhost:8765/", "https://d111.cloudfront.net/"]
    # Given URLs, the client takes the code flow (the template's HasWebUrls condition turned true).
    assert web["UserPoolClient"]["AllowedOAuthFlows"] == ["code"]
    assert web["UserPoolClient"]["AllowedOAuthFlowsUserPoolClient"] is True


def test_a_stack_with_a_username_pool_is_not_updated(moto_url: str, tmp_path: Path) -> None:
    # A stack from before sign-in by e-mail: its pool cannot take the new username settings, so the
    # script refuses before packaging anything and names the way out.
    stack = f"cs-old-{uuid.uuid4().hex[:8]}"
    old = {
        "Resources": {
            "UserPool": {"Type": "AWS::Cognito::UserPool", "Properties": {"UserPoolName": f"{stack}-users"}}
        }
    }
    boto_client("cloudformation", moto_url).create_stack(StackName=stack, TemplateBody=json.dumps(old))
    run = run_deploy_script(
        aws_cli_env(moto_url, tmp_path), tmp_path, "--stack-name", stack, "--domain-prefix", "cs-old-pool"
    )
    assert run.returncode != 0
    assert "packaging" not in run.stderr
    assert _last_line(run.stderr) == (
        f"deploy-prerequisites: error: stack {stack} has a user pool that signs in by username; its sign-in "
        "settings cannot change in place. Deploy a new stack (--stack-name, --domain-prefix, "
        "--parameter-prefix) and move the users: docs/edge.md, 'One account per mailbox'"
    )
