"""Bridges for the flood guard and site headers of the front door (scripts/localdev/moto_frontdoor.py).

moto 5.2.5 has APIs but no CloudFormation handlers for ``AWS::ApiGateway::Account``,
``AWS::WAFv2::WebACL`` and ``::WebACLAssociation`` (these pass the resolved properties to moto's own
backends), and no API at all for ``AWS::CloudFront::ResponseHeadersPolicy`` (the bridge checks the
config has its required name and returns a fresh id). ``keep_stage_on_redeploy`` closes the gap
where ``CreateDeployment`` on an existing stage drops its settings. moto_frontdoor.py's docstring
lists the gaps by number (1, 3, 7).
"""

from __future__ import annotations

from typing import Any


def _apigw(account: str, region: str) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account][region]


def account_settings(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    """``AWS::ApiGateway::Account``: the account's CloudWatch role, as UpdateAccount sets it."""
    patch = {"op": "replace", "path": "/cloudwatchRoleArn", "value": p["CloudWatchRoleArn"]}
    _apigw(account, region).update_account([patch])
    return f"{account}-{region}-apigateway-account", {}


def _wafv2(account: str, region: str, scope: str) -> Any:
    from moto.wafv2.models import GLOBAL_REGION, wafv2_backends

    return wafv2_backends[account][GLOBAL_REGION if scope == "CLOUDFRONT" else region]


def _blobs_as_the_api_holds_them(value: Any) -> Any:
    """CloudFormation takes a byte match's SearchString as text; the API (and moto) hold base64."""
    import base64

    if isinstance(value, list):
        return [_blobs_as_the_api_holds_them(v) for v in value]
    if not isinstance(value, dict):
        return value
    converted = {k: _blobs_as_the_api_holds_them(v) for k, v in value.items()}
    if "ByteMatchStatement" in value:
        match = converted["ByteMatchStatement"]
        match["SearchString"] = base64.b64encode(str(match["SearchString"]).encode()).decode()
    return converted


def web_acl(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    """``AWS::WAFv2::WebACL`` in moto's wafv2 (CLOUDFRONT scope: its global backend)."""
    created = _wafv2(account, region, p["Scope"]).create_web_acl(
        p["Name"],
        p["VisibilityConfig"],
        p["DefaultAction"],
        p["Scope"],
        p.get("Description", ""),
        [],
        _blobs_as_the_api_holds_them(p.get("Rules", [])),
        None,
        None,
        None,
        None,
        None,
    )
    # Ref of a web ACL is "name|id|scope"; GetAtt Arn/Id are what the templates read.
    return f"{p['Name']}|{created.id}|{p['Scope']}", {"Arn": created.arn, "Id": created.id}


def web_acl_association(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    """``AWS::WAFv2::WebACLAssociation`` (moto also records the web ACL on an API stage)."""
    _wafv2(account, region, "REGIONAL").associate_web_acl(p["WebACLArn"], p["ResourceArn"])
    return f"{p['WebACLArn']}|{p['ResourceArn']}", {}


def response_headers_policy(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    """``AWS::CloudFront::ResponseHeadersPolicy``: moto has no such API; an id for the behaviors."""
    import uuid

    config = p["ResponseHeadersPolicyConfig"]
    if not config.get("Name"):  # the one required field of the real API
        raise ValueError("ResponseHeadersPolicyConfig.Name is required")
    policy_id = str(uuid.uuid4())
    return policy_id, {"Id": policy_id}


def keep_stage_on_redeploy() -> None:
    """Make CreateDeployment on an existing stage move its deployment id and keep its settings."""
    from moto.apigateway.models import RestAPI

    create = RestAPI.create_deployment

    def create_keeping_the_stage(self: Any, name: str, description: str, stage_variables: Any = None) -> Any:
        existing = self.stages.get(name) if name else None
        deployment = create(self, name, description, stage_variables)
        if existing is not None:
            existing.deployment_id = deployment.id
            self.stages[name] = existing
        return deployment

    RestAPI.create_deployment = create_keeping_the_stage  # type: ignore[method-assign]
