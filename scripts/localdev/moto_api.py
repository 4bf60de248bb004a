"""Fuller replacements for moto's lossy API Gateway Method and RestApi CloudFormation handlers.

moto_frontdoor.py registers them over moto's own (its docstring says what moto loses).
"""

from __future__ import annotations

from typing import Any


def _apigw(account: str, region: str) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account][region]


def method(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    """AWS::ApiGateway::Method with everything the template sets (moto keeps too little)."""
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


def rest_api(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    """AWS::ApiGateway::RestApi with its endpoint and policy settings."""
    api = _apigw(account, region).create_rest_api(
        p["Name"],
        p.get("Description", ""),
        api_key_source=p.get("ApiKeySourceType"),
        endpoint_configuration=p.get("EndpointConfiguration"),
    )
    root = next(r.id for r in api.resources.values() if r.get_path() == "/")
    return api.id, {"RootResourceId": root}
