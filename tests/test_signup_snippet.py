"""scripts/signup-policy.snippet.yaml merged into scripts/prerequisites.yaml, as its header says.

The user pool lives in the prerequisites stack, so the sign-up policy ships as a snippet until it is
merged there; this test proves the merge is lint-clean and wires the trigger to the pool.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from tests.support.processes import REPO, VENV_BIN

PREREQUISITES = REPO / "scripts" / "prerequisites.yaml"
SNIPPET = REPO / "scripts" / "signup-policy.snippet.yaml"


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    template = cfn_yaml.load(str(PREREQUISITES))
    snippet = cfn_yaml.load(str(SNIPPET))
    assert set(snippet) == {"Parameters", "Conditions", "UserPoolProperties", "Resources"}
    for section in ("Parameters", "Conditions", "Resources"):
        assert not set(snippet[section]) & set(template.get(section, {})), f"{section} names collide"
        template.setdefault(section, {}).update(snippet[section])
    pool = template["Resources"]["UserPool"]["Properties"]
    pool["AdminCreateUserConfig"].update(snippet["UserPoolProperties"]["AdminCreateUserConfig"])
    pool["LambdaConfig"] = snippet["UserPoolProperties"]["LambdaConfig"]
    pool["AutoVerifiedAttributes"] = snippet["UserPoolProperties"]["AutoVerifiedAttributes"]
    return template


def test_merged_template_is_lint_clean(merged: dict[str, Any], tmp_path: Path) -> None:
    # JSON, because the intrinsic functions are plain dicts once parsed.
    path = tmp_path / "prerequisites-with-signup.json"
    path.write_text(json.dumps(merged))
    run = subprocess.run([str(VENV_BIN / "cfn-lint"), str(path)], capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


def test_sign_up_is_off_by_default_and_the_trigger_only_exists_when_on(merged: dict[str, Any]) -> None:
    assert merged["Parameters"]["SelfSignUp"]["Default"] == "Disabled"
    assert merged["Conditions"]["SelfSignUpEnabled"] == {"Fn::Equals": [{"Ref": "SelfSignUp"}, "Enabled"]}
    pool = merged["Resources"]["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] == {
        "Fn::If": ["SelfSignUpEnabled", False, True]
    }
    assert pool["LambdaConfig"] == {
        "PreSignUp": {
            "Fn::If": [
                "SelfSignUpEnabled",
                {"Fn::GetAtt": ["PreSignUpFunction", "Arn"]},
                {"Ref": "AWS::NoValue"},
            ]
        }
    }
    snippet_resources = cfn_yaml.load(str(SNIPPET))["Resources"]
    assert {merged["Resources"][name].get("Condition") for name in snippet_resources} == {"SelfSignUpEnabled"}


def test_trigger_runs_the_handler_with_the_domains_and_only_this_pool_may_call_it(
    merged: dict[str, Any],
) -> None:
    fn = merged["Resources"]["PreSignUpFunction"]["Properties"]
    assert fn["Code"] == "../app/PreSignUp/"
    assert (PREREQUISITES.parent / fn["Code"] / "handler.py").is_file()
    assert fn["Handler"] == "handler.lambda_handler"
    assert fn["Environment"]["Variables"] == {"ORGANIZATION_DOMAIN": {"Ref": "OrganizationDomain"}}
    permission = merged["Resources"]["PreSignUpInvokePermission"]["Properties"]
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    role = merged["Resources"]["PreSignUpRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
