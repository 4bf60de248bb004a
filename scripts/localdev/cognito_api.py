"""The local issuer's Cognito JSON API (``X-Amz-Target``), enough for the aws CLI.

``InitiateAuth`` (USER_PASSWORD_AUTH, public as in Cognito) and ``DescribeUserPoolClient``, shaped
like Cognito's answers and errors, reached through ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``.
``DescribeUserPoolClient`` returns a machine client's secret, so, like Cognito (an IAM-authorised
admin API), it answers only SigV4-signed calls by the issuer's ``api_credentials`` (sigv4.py):
others get Cognito's ``UnrecognizedClientException`` / ``MissingAuthenticationTokenException``.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from scripts.localdev.oauth_grants import token_refusal_for
from scripts.localdev.pool import TokenMinter
from scripts.localdev.sigv4 import signed_by_known_credentials

COGNITO_TARGET_PREFIX = "AWSCognitoIdentityProviderService."


async def cognito_api(issuer: TokenMinter, request: Request) -> Response:
    """One Cognito JSON API call (``X-Amz-Target``): InitiateAuth or DescribeUserPoolClient."""
    target = request.headers.get("x-amz-target", "")
    if not target.startswith(COGNITO_TARGET_PREFIX):
        return _cognito_error("UnknownOperationException", "Unknown operation")
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        return _cognito_error("InvalidParameterException", "Request body is not JSON")
    if not isinstance(body, dict):
        return _cognito_error("InvalidParameterException", "Request body must be an object")
    operation = target[len(COGNITO_TARGET_PREFIX) :]
    if operation == "InitiateAuth":
        return _initiate_auth(issuer, body)
    if operation == "DescribeUserPoolClient":
        if "authorization" not in request.headers:
            return _cognito_error("MissingAuthenticationTokenException", "Missing Authentication Token")
        headers = {k.lower(): v for k, v in request.headers.items()}
        credentials = issuer.config.api_credentials
        if not signed_by_known_credentials("POST", str(request.url), headers, raw, credentials):
            return _cognito_error(
                "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        return _describe_user_pool_client(issuer, body)
    return _cognito_error("UnknownOperationException", f"{operation} is not supported locally")


def _initiate_auth(issuer: TokenMinter, body: dict[str, Any]) -> Response:
    if body.get("AuthFlow") != "USER_PASSWORD_AUTH":
        return _cognito_error("InvalidParameterException", "Only USER_PASSWORD_AUTH is supported")
    client = issuer.config.client(str(body.get("ClientId", "")))
    if client is None or not client.user_login:
        return _cognito_error("ResourceNotFoundException", "User pool client does not exist.")
    params = body.get("AuthParameters") or {}
    user = issuer.config.user(str(params.get("USERNAME", "")))
    if user is None or not secrets.compare_digest(user.password, str(params.get("PASSWORD", ""))):
        return _cognito_error("NotAuthorizedException", "Incorrect username or password.")
    refusal = token_refusal_for(issuer, user)  # the pool's pre token generation trigger
    if refusal is not None:
        return _cognito_error("UserLambdaValidationException", refusal)
    tokens = issuer.user_tokens(user, client.client_id)
    return _cognito_json(
        {
            "AuthenticationResult": {
                "AccessToken": tokens["access"],
                "IdToken": tokens["id"],
                "ExpiresIn": issuer.config.token_lifetime,
                "TokenType": "Bearer",
            },
            "ChallengeParameters": {},
        }
    )


def _describe_user_pool_client(issuer: TokenMinter, body: dict[str, Any]) -> Response:
    if body.get("UserPoolId") != issuer.config.pool_id:
        return _cognito_error("ResourceNotFoundException", "User pool does not exist.")
    client = issuer.config.client(str(body.get("ClientId", "")))
    if client is None:
        return _cognito_error("ResourceNotFoundException", "User pool client does not exist.")
    described: dict[str, Any] = {
        "UserPoolId": issuer.config.pool_id,
        "ClientId": client.client_id,
        "ClientName": client.name or client.client_id,
        "AllowedOAuthScopes": client.allowed_scopes,
    }
    if client.client_secret:
        described["ClientSecret"] = client.client_secret
        described["AllowedOAuthFlows"] = ["client_credentials"]
    return _cognito_json({"UserPoolClient": described})


def _cognito_json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/x-amz-json-1.1")


def _cognito_error(error_type: str, message: str) -> Response:
    return _cognito_json({"__type": error_type, "message": message}, status=400)
