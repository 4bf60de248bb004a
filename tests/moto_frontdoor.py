"""A moto server that can deploy scripts/frontdoor.yaml (the public front door).

moto gaps for this template, measured on moto 5.2.5:

1. Its CloudFormation engine has no handler for ``AWS::ApiGateway::Authorizer``, ``::Stage``,
   ``::UsagePlan``, ``::GatewayResponse``, ``AWS::S3::BucketPolicy``, ``AWS::CloudFront::Distribution``
   and ``::OriginAccessControl``. Its APIs for all of them exist, so this server registers, for the
   types moto lacks only, handlers that pass the template's resolved properties to moto's own
   backends (the same bridge as tests/moto_stack.py does for Cognito). Ids, ARNs and domain names all
   come from moto.
2. Its handler for ``AWS::ApiGateway::Method`` keeps only the HTTP method, authorization type,
   ``ApiKeyRequired`` and the integration's type/URI/method: it drops the authorizer id, the request
   parameters (the header mapping) and the integration timeout, and it fails on a MOCK integration
   (no ``Uri``). The server therefore replaces it (``METHOD_FIDELITY``) with one that passes every
   property moto's API models to ``put_method`` / ``put_integration`` / ``put_integration_response``.
3. Not emulated at all, so asserted on the parsed template only: ``ResponseTransferMode`` (moto's
   integration model has no such field), a distribution origin's ``OriginAccessControlId`` (moto's
   origin model does not keep it), CloudFront response-headers and origin-request policies, and
   everything at request time (authorizer invocation, throttling, quotas, streaming, CORS answers).
4. Stacks made through a change set (``aws cloudformation deploy``) get no Outputs on moto: applying
   the change set updates the resources but not the stack's output map. The server refreshes the
   output map after each apply (``OUTPUTS_AFTER_CHANGE_SET``), so scripts/deploy-frontdoor.sh can read
   its outputs as on AWS.
5. moto creates a resource early when another one ``Ref``s it, ignoring that resource's own
   ``DependsOn``; the template therefore lists the key policy (which names the usage plan) after
   the API resources, so the deployment is created after its methods there too.

Run as ``python tests/moto_frontdoor.py --serve-moto PORT``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

BRIDGED_TYPES = (
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::GatewayResponse",
    "AWS::S3::BucketPolicy",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::Distribution",
)
METHOD_FIDELITY = "AWS::ApiGateway::Method"
OUTPUTS_AFTER_CHANGE_SET = "ChangeSet.apply refreshes the stack's outputs"

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


def _stage(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    _apigw(account, region).create_stage(
        p["RestApiId"], p["StageName"], p["DeploymentId"], description=p.get("Description", "")
    )
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


def _bucket_policy(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    import json

    from moto.s3.models import s3_backends

    s3_backends[account]["aws"].put_bucket_policy(p["Bucket"], json.dumps(p["PolicyDocument"]).encode())
    return p["Bucket"], {}


def _origin_access_control(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    from moto.cloudfront.models import cloudfront_backends

    created = cloudfront_backends[account]["aws"].create_origin_access_control(p["OriginAccessControlConfig"])
    return created.id, {"Id": created.id}


def _items(values: list[Any]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": values}


def _distribution(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    import uuid

    from moto.cloudfront.models import cloudfront_backends

    # CloudFormation's lists become the API's {Quantity, Items} wrappers.
    config = dict(p["DistributionConfig"], CallerReference=str(uuid.uuid4()))
    origins = []
    for origin in config["Origins"]:
        origin = dict(origin)
        if "CustomOriginConfig" in origin:
            custom = dict(origin["CustomOriginConfig"])
            custom["OriginSslProtocols"] = _items(custom.pop("OriginSSLProtocols", []))
            origin["CustomOriginConfig"] = custom
        origins.append(origin)
    config["Origins"] = _items(origins)

    def behavior(b: dict[str, Any]) -> dict[str, Any]:
        return dict(b, AllowedMethods=_items(list(b.get("AllowedMethods", ["GET", "HEAD"]))))

    config["DefaultCacheBehavior"] = behavior(config["DefaultCacheBehavior"])
    config["CacheBehaviors"] = _items([behavior(b) for b in config.get("CacheBehaviors", [])])
    created, _, _ = cloudfront_backends[account]["aws"].create_distribution(config, [])
    return created.id, {"DomainName": created.domain_name, "Id": created.id}


CREATORS: dict[str, Creator] = dict(
    zip(
        BRIDGED_TYPES,
        (
            _authorizer,
            _stage,
            _usage_plan,
            _gateway_response,
            _bucket_policy,
            _origin_access_control,
            _distribution,
        ),
        strict=True,
    )
)


def _method(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    backend = _apigw(account, region)
    api, resource, verb = p["RestApiId"], p["ResourceId"], p["HttpMethod"]
    backend.put_method(
        api,
        resource,
        verb,
        p["AuthorizationType"],
        api_key_required=str(p.get("ApiKeyRequired", False)).lower() == "true",
        request_parameters=p.get("RequestParameters"),
        authorizer_id=p.get("AuthorizerId"),
    )
    integration = p["Integration"]
    backend.put_integration(
        api,
        resource,
        verb,
        integration["Type"],
        integration.get("Uri", ""),
        integration.get("IntegrationHttpMethod", verb),
        request_templates=integration.get("RequestTemplates"),
        timeout_in_millis=integration.get("TimeoutInMillis"),
        request_parameters=integration.get("RequestParameters"),
    )
    for response in integration.get("IntegrationResponses", []):
        backend.put_integration_response(
            api,
            resource,
            verb,
            response["StatusCode"],
            response.get("SelectionPattern", ""),
            response.get("ResponseTemplates", {}),
            response.get("ResponseParameters", {}),
        )
    return f"{api}-{resource}-{verb}", {}


def _bridge(cfn_type: str, create: Creator) -> type:
    from moto.core.common_models import CloudFormationModel

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
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
    _BRIDGES.append(_bridge(METHOD_FIDELITY, _method))  # defined last: wins in moto's type map
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    assert parsing.get_model_map()[METHOD_FIDELITY] is _BRIDGES[-1]
    _refresh_outputs_after_change_sets()
    return [*bridged, METHOD_FIDELITY, OUTPUTS_AFTER_CHANGE_SET]


def _refresh_outputs_after_change_sets() -> None:
    from moto.cloudformation.models import ChangeSet

    apply = ChangeSet.apply

    def apply_and_refresh_outputs(self: Any) -> None:
        apply(self)
        self.stack.template_dict = self.template_dict
        self.stack.output_map = self.stack._create_output_map()

    ChangeSet.apply = apply_and_refresh_outputs  # type: ignore[method-assign]


if __name__ == "__main__":
    if sys.argv[1:2] != ["--serve-moto"] or len(sys.argv) != 3:
        sys.exit("usage: python tests/moto_frontdoor.py --serve-moto PORT")
    print(f"bridged CloudFormation types: {register_frontdoor_cfn_handlers()}", flush=True)
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", sys.argv[2]])
    sys.exit(0)
