"""A moto server that can deploy scripts/deploy/frontdoor.yaml (the public front door).

moto gaps for this template, measured on moto 5.2.5:

1. Its CloudFormation engine has no handler for ``AWS::ApiGateway::Authorizer``, ``::Stage``,
   ``::UsagePlan``, ``::GatewayResponse``, ``::Account``, ``AWS::S3::BucketPolicy``,
   ``AWS::CloudFront::Distribution``, ``::OriginAccessControl``, ``AWS::WAFv2::WebACL`` and
   ``::WebACLAssociation``. Its APIs for all of them exist, so this server registers, for the
   types moto lacks only, handlers that pass the template's resolved properties to moto's own
   backends (as moto_stack.py does for Cognito). Ids, ARNs and domain names all
   come from moto. The stage's method settings (throttling) and access-log setting go through
   moto's own UpdateStage patch operations, as the API would apply them.
2. Its handlers for two types it has are lossy. ``AWS::ApiGateway::Method`` keeps only the HTTP
   method, authorization type, ``ApiKeyRequired`` and the integration's type/URI/method: it drops
   the authorizer id, the request parameters (the header mapping) and the integration timeout, and
   it fails on a MOCK integration (no ``Uri``). ``AWS::ApiGateway::RestApi`` drops
   ``ApiKeySourceType``. The server replaces both (``FIDELITY``) with handlers that pass every
   property moto's API models to moto's own API calls. ``AWS::S3::Bucket`` drops
   ``PublicAccessBlockConfiguration``; the server applies it after moto's own handler ran
   (``BUCKET_PUBLIC_ACCESS_BLOCK``).
3. Not emulated at all, so asserted on the parsed template only: ``ResponseTransferMode`` (moto's
   integration model has no such field), a distribution origin's ``OriginAccessControlId`` (moto's
   origin model does not keep it), CloudFront origin-request policies, and everything at request
   time (authorizer invocation, throttling, quotas, streaming, CORS answers, WAF rules: moto stores
   a web ACL and its associations but evaluates no rule). moto has no CloudFront response-headers
   policy API at all: the bridge's ``AWS::CloudFront::ResponseHeadersPolicy`` checks the config's
   required parts and returns a fresh id, which the distribution's behaviors then name.
4. Stacks made through a change set (``aws cloudformation deploy``) get no Outputs on moto: applying
   the change set updates the resources but not the stack's output map. The server refreshes the
   output map after each apply (``OUTPUTS_AFTER_CHANGE_SET``), so scripts/deploy/deploy-frontdoor.sh can read
   its outputs as on AWS.
5. moto creates a resource early when another one ``Ref``s it, ignoring that resource's own
   ``DependsOn``; the template therefore lists the key policy (which names the usage plan) after
   the API resources, so the deployment is created after its methods there too.

6. moto enforces bucket policies but gives their ``Condition``s no request context: the site
   bucket's TLS-only ``Deny`` (``aws:SecureTransport`` false) refuses every upload, even over HTTPS. The tests
   serve moto over HTTPS (a throw-away certificate for 127.0.0.1), where that statement does not
   apply, and the server leaves exactly that statement out of moto's evaluation
   (``TLS_ONLY_DENY_ON_HTTPS``); every other statement is evaluated as moto does.

7. ``CreateDeployment`` naming an existing stage replaces moto's stage object with a fresh one,
   dropping its method settings (throttling), access-log setting and web ACL; API Gateway only
   points the stage at the new deployment. scripts/deploy/deploy-frontdoor.sh redeploys the stage
   after every stack update, so the server keeps the stage and moves its deployment id
   (``STAGE_KEPT_ON_REDEPLOY``).
8. ``DescribeStacks`` shows a ``NoEcho`` parameter's value (the origin header's secret) where
   CloudFormation shows ``****``: the tests check ``NoEcho`` on the parsed template and that the
   script never prints the value.

The server also carries moto_stack.py's Cognito bridge, so scripts/deploy/prerequisites.yaml deploys
on it too (the front-door script updates that stack's web client).

Run from the repository as ``python -m scripts.localdev.moto_frontdoor --serve-moto PORT [CERT KEY]``
(with CERT and KEY: HTTPS).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from scripts.localdev.moto_api import method, rest_api
from scripts.localdev.moto_edge import (
    account_settings,
    keep_stage_on_redeploy,
    response_headers_policy,
    web_acl,
    web_acl_association,
)
from scripts.localdev.moto_patches import (
    keep_public_access_block,
    refresh_outputs_after_change_sets,
    serve_tls_only_buckets,
)
from scripts.localdev.moto_site import bucket_policy, distribution, origin_access_control

BRIDGED_TYPES = (
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::GatewayResponse",
    "AWS::S3::BucketPolicy",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::Distribution",
    "AWS::ApiGateway::Account",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::CloudFront::ResponseHeadersPolicy",
)
METHOD_FIDELITY = "AWS::ApiGateway::Method"
REST_API_FIDELITY = "AWS::ApiGateway::RestApi"
OUTPUTS_AFTER_CHANGE_SET = "ChangeSet.apply refreshes the stack's outputs"
BUCKET_PUBLIC_ACCESS_BLOCK = "AWS::S3::Bucket keeps PublicAccessBlockConfiguration"
STAGE_KEPT_ON_REDEPLOY = "CreateDeployment keeps an existing stage's settings"

_BRIDGES: list[type] = []  # moto finds models through weak __subclasses__() references: keep them alive

# A creator gets (resolved properties, account, region) and returns (physical id, GetAtt attributes).
Creator = Callable[[dict[str, Any], str, str], tuple[str, dict[str, str]]]


def _apigw(account: str, region: str) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account][region]


def _authorizer(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    created = _apigw(account, region).create_authorizer(
        p["RestApiId"],
        p["Name"],
        p["Type"],
        authorizer_uri=p.get("AuthorizerUri"),
        identity_source=p.get("IdentitySource"),
        identiy_validation_expression=p.get("IdentityValidationExpression"),  # sic, moto's spelling
        authorizer_result_ttl=int(p["AuthorizerResultTtlInSeconds"]),
    )
    return created.id, {}


# CloudFormation's MethodSettings keys and the UpdateStage patch paths they become.
METHOD_SETTING_PATHS = {
    "ThrottlingRateLimit": "throttling/rateLimit",
    "ThrottlingBurstLimit": "throttling/burstLimit",
}


def _stage(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    backend = _apigw(account, region)
    backend.create_stage(
        p["RestApiId"], p["StageName"], p["DeploymentId"], description=p.get("Description", "")
    )
    patches = []
    for setting in p.get("MethodSettings", []):
        where = f"/{setting['ResourcePath'].lstrip('/').replace('/', '~1')}/{setting['HttpMethod']}"
        for key, path in METHOD_SETTING_PATHS.items():
            if key in setting:
                patches.append({"op": "replace", "path": f"{where}/{path}", "value": str(setting[key])})
    log = p.get("AccessLogSetting")
    if log:
        for key in ("DestinationArn", "Format"):
            patches.append(
                {"op": "replace", "path": f"/accessLogSettings/{key[0].lower()}{key[1:]}", "value": log[key]}
            )
    if patches:
        backend.update_stage(p["RestApiId"], p["StageName"], patches)
    return p["StageName"], {}


def _usage_plan(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    payload = {
        "name": p["UsagePlanName"],
        "description": p.get("Description", ""),
        "apiStages": [{"apiId": s["ApiId"], "stage": s["Stage"]} for s in p["ApiStages"]],
        "throttle": {
            "rateLimit": float(p["Throttle"]["RateLimit"]),
            "burstLimit": int(p["Throttle"]["BurstLimit"]),
        },
        "quota": {"limit": int(p["Quota"]["Limit"]), "period": p["Quota"]["Period"]},
    }
    return _apigw(account, region).create_usage_plan(payload).id, {}


def _gateway_response(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    _apigw(account, region).put_gateway_response(
        p["RestApiId"],
        p["ResponseType"],
        p.get("StatusCode"),
        p.get("ResponseParameters"),
        p.get("ResponseTemplates"),
    )
    return f"{p['RestApiId']}-{p['ResponseType']}", {}


CREATORS: dict[str, Creator] = dict(
    zip(
        BRIDGED_TYPES,
        (
            _authorizer,
            _stage,
            _usage_plan,
            _gateway_response,
            bucket_policy,
            origin_access_control,
            distribution,
            account_settings,
            web_acl,
            web_acl_association,
            response_headers_policy,
        ),
        strict=True,
    )
)


FIDELITY: dict[str, Creator] = {REST_API_FIDELITY: rest_api, METHOD_FIDELITY: method}


def _bridge(cfn_type: str, create: Creator) -> type:
    from moto.core.common_models import CloudFormationModel

    def create_from_cloudformation_json(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Any:
        physical_id, attributes = cls.creator(
            dict(cloudformation_json["Properties"]), account_id, region_name
        )
        return cls(physical_id, attributes)

    def not_supported(cls: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the test bridge only creates front-door resources")

    def init(self: Any, physical_id: str, attributes: dict[str, str]) -> None:
        self.physical_resource_id = physical_id
        self.attributes = attributes

    return type(
        "Bridged" + cfn_type.replace("::", ""),
        (CloudFormationModel,),
        {
            "__init__": init,
            "creator": staticmethod(create),
            "cloudformation_type": staticmethod(lambda t=cfn_type: t),
            "cloudformation_name_type": staticmethod(lambda: ""),
            "has_cfn_attr": classmethod(lambda cls, attr: True),
            "get_cfn_attribute": lambda self, attr: self.attributes[attr],
            "is_created": lambda self: True,
            "create_from_cloudformation_json": classmethod(create_from_cloudformation_json),
            "update_from_cloudformation_json": classmethod(not_supported),
            "delete_from_cloudformation_json": classmethod(not_supported),
        },
    )


def register_frontdoor_cfn_handlers() -> list[str]:
    """Bridge the types moto lacks and replace its lossy Method handler (see the module docstring)."""
    from moto.cloudformation import parsing

    native = set(parsing.get_model_map())
    bridged = [t for t in BRIDGED_TYPES if t not in native]  # moto learned one: test moto's own
    for cfn_type in bridged:
        _BRIDGES.append(_bridge(cfn_type, CREATORS[cfn_type]))
    replacements = {t: _bridge(t, create) for t, create in FIDELITY.items()}  # defined last: they win
    _BRIDGES.extend(replacements.values())
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    assert all(parsing.get_model_map()[t] is bridge for t, bridge in replacements.items())
    refresh_outputs_after_change_sets()
    keep_public_access_block()
    keep_stage_on_redeploy()
    return [*bridged, *FIDELITY, OUTPUTS_AFTER_CHANGE_SET, BUCKET_PUBLIC_ACCESS_BLOCK, STAGE_KEPT_ON_REDEPLOY]


if __name__ == "__main__":
    if sys.argv[1:2] != ["--serve-moto"] or len(sys.argv) not in (3, 5):
        sys.exit("usage: python -m scripts.localdev.moto_frontdoor --serve-moto PORT [CERT KEY]")
    print(f"bridged CloudFormation types: {register_frontdoor_cfn_handlers()}", flush=True)
    # The prerequisites stack deploys on the same server (the front door updates its web client).
    from scripts.localdev.moto_stack import register_cognito_cfn_handlers

    print(f"bridged Cognito types: {register_cognito_cfn_handlers()}", flush=True)
    from moto.server import main

    tls = ["-s", "-c", sys.argv[3], "-k", sys.argv[4]] if len(sys.argv) == 5 else []
    if tls:
        print(f"patched: {serve_tls_only_buckets()}", flush=True)
    main(["-H", "127.0.0.1", "-p", sys.argv[2], *tls])
    sys.exit(0)
