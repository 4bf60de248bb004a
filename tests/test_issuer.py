"""The local Cognito-compatible issuer over real HTTP: OIDC, the token endpoint and the Cognito API."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import httpx
import jwt
import pytest
from botocore.exceptions import ClientError

from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.pool import USER_SCOPE, Client, IssuerConfig, User
from scripts.localdev.serving import BackgroundServer
from tests.support.processes import REPO, VENV_BIN, start_process, stop_process

POOL = "us-east-1_TESTPOOL"
INVOKE, READ = "customersupport/invoke", "customersupport/read"
M2M = Client(
    client_id="m2m-client", client_secret="m2m-secret-3c1d", allowed_scopes=[INVOKE, READ], name="machine"
)
NO_SCOPES = Client(client_id="no-scope-client", client_secret="no-scope-secret")
USER_LOGIN = Client(client_id="user-login-client", user_login=True, name="web")
ALEX = User(username="alex", password="correct horse battery", sub=str(uuid.uuid4()))
CLAIMS = {"iss", "sub", "client_id", "token_use", "scope", "exp", "iat", "auth_time", "jti", "version"}


def make_config(**changes: Any) -> IssuerConfig:
    values: dict[str, Any] = {
        "pool_id": POOL,
        "clients": [M2M, NO_SCOPES, USER_LOGIN],
        "users": [ALEX],
        "api_credentials": {"testing": "testing"},  # what the aws CLI and boto3 sign with below
    }
    return IssuerConfig(**{**values, **changes})


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    """One issuer for the read-only tests; the app reads base_url at request time."""
    local = LocalIssuer(make_config())
    with BackgroundServer(local.app()) as server:
        local.base_url = server.url
        yield local


@pytest.fixture
def start_issuer() -> Iterator[Callable[[IssuerConfig], LocalIssuer]]:
    """Starts issuers a test may change (lifetime, keys); stops them afterwards."""
    servers: list[BackgroundServer] = []

    def start(config: IssuerConfig) -> LocalIssuer:
        local = LocalIssuer(config)
        server = BackgroundServer(local.app()).start()
        servers.append(server)
        local.base_url = server.url
        return local

    yield start
    for server in servers:
        server.stop()


def get_token(issuer: LocalIssuer, **form: str) -> httpx.Response:
    """client_credentials with HTTP Basic for M2M unless the form says otherwise."""
    data = {"grant_type": "client_credentials", **form}
    auth = None if "client_id" in form else (M2M.client_id, str(M2M.client_secret))
    return httpx.post(issuer.token_url, data=data, auth=auth, timeout=10)


def verify(issuer: LocalIssuer, token: str, **options: Any) -> dict[str, Any]:
    """Claims after checking the signature against the JWKS fetched over HTTP, and iss."""
    key = jwt.PyJWKClient(issuer.jwks_url, cache_keys=False).get_signing_key_from_jwt(token)
    checks = cast("jwt.types.Options", {"verify_aud": False, **options})
    return jwt.decode(token, key.key, algorithms=["RS256"], issuer=issuer.issuer, options=checks)


# -- OIDC ----------------------------------------------------------------------------------------
def test_discovery_document(issuer: LocalIssuer) -> None:
    response = httpx.get(issuer.discovery_url, timeout=10)
    assert response.status_code == 200
    doc = response.json()
    assert issuer.discovery_url.endswith(f"/{POOL}/.well-known/openid-configuration")
    assert doc["issuer"] == f"{issuer.base_url}/{POOL}" == issuer.issuer
    assert doc["jwks_uri"] == f"{issuer.issuer}/.well-known/jwks.json"
    assert doc["token_endpoint"] == f"{issuer.base_url}/oauth2/token"
    assert "client_credentials" in doc["grant_types_supported"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post"}
    # The document is served for this pool only.
    assert (
        httpx.get(
            f"{issuer.base_url}/us-east-1_OTHER/.well-known/openid-configuration", timeout=10
        ).status_code
        == 404
    )


def test_jwks_publishes_the_public_signing_key_with_kid(issuer: LocalIssuer) -> None:
    keys = httpx.get(issuer.jwks_url, timeout=10).json()["keys"]
    assert len(keys) == 1
    [key] = keys
    assert key["kid"] == issuer.keys.current[0]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert key["n"] and key["e"] == "AQAB"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)  # no private material
    token = get_token(issuer).json()["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]


# -- token endpoint -------------------------------------------------------------------------------
def test_client_credentials_with_basic_auth(issuer: LocalIssuer) -> None:
    response = get_token(issuer, scope=INVOKE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert verify(issuer, body["access_token"])["client_id"] == M2M.client_id


def test_client_credentials_with_form_auth(issuer: LocalIssuer) -> None:
    response = get_token(issuer, client_id=M2M.client_id, client_secret=str(M2M.client_secret), scope=READ)
    assert response.status_code == 200
    claims = verify(issuer, response.json()["access_token"])
    assert claims["client_id"] == M2M.client_id
    assert claims["scope"] == READ


def test_access_token_claims_are_cognito_shaped(issuer: LocalIssuer) -> None:
    before = int(time.time())
    token = get_token(issuer, scope=INVOKE).json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"] == issuer.keys.current[0]
    claims = verify(issuer, token, require=sorted(CLAIMS))
    assert set(claims) == CLAIMS  # no aud: Cognito access tokens carry client_id instead
    assert claims["iss"] == issuer.issuer
    assert claims["sub"] == claims["client_id"] == M2M.client_id
    assert claims["token_use"] == "access"
    assert claims["scope"] == INVOKE
    assert claims["version"] == 2
    assert before <= claims["iat"] == claims["auth_time"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 3600
    assert str(uuid.UUID(claims["jti"])) == claims["jti"]
    assert claims["jti"] != verify(issuer, get_token(issuer).json()["access_token"])["jti"]


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        (INVOKE, INVOKE),
        (f"{READ} {INVOKE}", f"{READ} {INVOKE}"),
        (None, f"{INVOKE} {READ}"),  # no scope asked: all the client's allowed scopes
    ],
)
def test_scopes_granted(issuer: LocalIssuer, requested: str | None, granted: str) -> None:
    response = get_token(issuer, **({"scope": requested} if requested else {}))
    assert response.status_code == 200
    assert verify(issuer, response.json()["access_token"])["scope"] == granted


@pytest.mark.parametrize("requested", ["customersupport/admin", f"{INVOKE} customersupport/admin"])
def test_scope_not_allowed_is_invalid_scope(issuer: LocalIssuer, requested: str) -> None:
    response = get_token(issuer, scope=requested)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_scope"}


def test_client_without_scopes_is_unauthorized_client(issuer: LocalIssuer) -> None:
    response = httpx.post(
        issuer.token_url,
        data={"grant_type": "client_credentials"},
        auth=(NO_SCOPES.client_id, str(NO_SCOPES.client_secret)),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "unauthorized_client"}


def _basic(value: str) -> dict[str, str]:
    return {"Authorization": f"Basic {value}"}


@pytest.mark.parametrize(
    ("headers", "form"),
    [
        (_basic(base64.b64encode(b"m2m-client:wrong").decode()), {}),
        ({}, {"client_id": M2M.client_id, "client_secret": "wrong"}),
        (_basic(base64.b64encode(b"nobody:m2m-secret-3c1d").decode()), {}),
        ({}, {}),  # no credentials at all
        ({}, {"client_id": M2M.client_id}),  # no secret
        (_basic("abc"), {}),  # not base64 (bad padding)
        (_basic(base64.b64encode(b"user-login-client:anything").decode()), {}),  # client has no secret
    ],
    ids=[
        "basic-wrong-secret",
        "form-wrong-secret",
        "unknown-client",
        "no-credentials",
        "no-secret",
        "malformed-basic",
        "public-client",
    ],
)
def test_bad_client_credentials_are_invalid_client(
    issuer: LocalIssuer, headers: dict[str, str], form: dict[str, str]
) -> None:
    response = httpx.post(
        issuer.token_url, data={"grant_type": "client_credentials", **form}, headers=headers, timeout=10
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


@pytest.mark.parametrize("grant", ["password", "authorization_code", None])
def test_other_grants_are_unsupported(issuer: LocalIssuer, grant: str | None) -> None:
    data = {"grant_type": grant} if grant else {}
    response = httpx.post(
        issuer.token_url, data=data, auth=(M2M.client_id, str(M2M.client_secret)), timeout=10
    )
    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type"}


# -- lifetime and keys ----------------------------------------------------------------------------
def test_configured_lifetime(start_issuer: Callable[[IssuerConfig], LocalIssuer]) -> None:
    local = start_issuer(make_config(token_lifetime=120))
    body = get_token(local).json()
    assert body["expires_in"] == 120
    claims = verify(local, body["access_token"])
    assert claims["exp"] - claims["iat"] == 120


def test_negative_lifetime_mints_expired_tokens(start_issuer: Callable[[IssuerConfig], LocalIssuer]) -> None:
    local = start_issuer(make_config(token_lifetime=-30))
    token = get_token(local).json()["access_token"]
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(local, token)
    claims = verify(local, token, verify_exp=False)  # the signature itself is fine
    assert claims["exp"] < time.time()
    # A per-call lifetime overrides the configured one.
    fresh = local.client_credentials_token(M2M.client_id, [INVOKE], lifetime=60)
    assert verify(local, fresh)["exp"] > time.time()


def test_key_rotation(start_issuer: Callable[[IssuerConfig], LocalIssuer]) -> None:
    local = start_issuer(make_config())
    old_token = get_token(local).json()["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    new_kid = local.keys.add()

    kids = [key["kid"] for key in httpx.get(local.jwks_url, timeout=10).json()["keys"]]
    assert kids == [old_kid, new_kid] and new_kid != old_kid
    new_token = get_token(local).json()["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    # Both verify against the published set; the new token is not signed with the old key.
    assert verify(local, old_token)["client_id"] == verify(local, new_token)["client_id"]
    old_key = jwt.PyJWKClient(local.jwks_url, cache_keys=False).get_signing_key(old_kid).key
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(new_token, old_key, algorithms=["RS256"], options={"verify_aud": False})


# -- the Cognito JSON API through the aws CLI and boto3 ------------------------------------------
@pytest.fixture(scope="module")
def aws_cli_env(
    issuer: LocalIssuer, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> dict[str, str]:
    empty = tmp_path_factory.mktemp("aws") / "empty"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHONDONTWRITEBYTECODE"))}
    # Cache the aws CLI's bytecode outside the venv: halves its start-up cost.
    cache = getattr(pytestconfig, "cache", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache.mkdir("pycache") if cache else tmp_path_factory.getbasetemp())
    env.update(
        {
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": issuer.base_url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_MAX_ATTEMPTS": "1",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return env


def aws_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "aws"), "cognito-idp", *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_aws_cli_initiate_auth_returns_access_and_id_tokens(
    issuer: LocalIssuer, aws_cli_env: dict[str, str]
) -> None:
    result = aws_cli(
        aws_cli_env,
        "initiate-auth",
        "--auth-flow",
        "USER_PASSWORD_AUTH",
        "--client-id",
        USER_LOGIN.client_id,
        "--auth-parameters",
        f"USERNAME={ALEX.username},PASSWORD={ALEX.password}",
    )
    assert result.returncode == 0, result.stderr
    auth = json.loads(result.stdout)["AuthenticationResult"]
    assert auth["TokenType"] == "Bearer" and auth["ExpiresIn"] == 3600
    access = verify(issuer, auth["AccessToken"])
    assert access["token_use"] == "access"
    assert access["client_id"] == USER_LOGIN.client_id
    assert access["sub"] == ALEX.sub
    assert access["username"] == ALEX.username
    assert access["scope"] == USER_SCOPE
    assert "aud" not in access
    id_claims = verify(issuer, auth["IdToken"])
    assert id_claims["token_use"] == "id"
    assert id_claims["aud"] == USER_LOGIN.client_id
    assert id_claims["cognito:username"] == ALEX.username
    assert "client_id" not in id_claims  # why allowedClients rejects ID tokens


def test_aws_cli_initiate_auth_wrong_password(aws_cli_env: dict[str, str]) -> None:
    result = aws_cli(
        aws_cli_env,
        "initiate-auth",
        "--auth-flow",
        "USER_PASSWORD_AUTH",
        "--client-id",
        USER_LOGIN.client_id,
        "--auth-parameters",
        f"USERNAME={ALEX.username},PASSWORD=wrong",
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert "(NotAuthorizedException)" in result.stderr
    assert "Incorrect username or password." in result.stderr


def test_aws_cli_describe_user_pool_client(aws_cli_env: dict[str, str]) -> None:
    result = aws_cli(
        aws_cli_env, "describe-user-pool-client", "--user-pool-id", POOL, "--client-id", M2M.client_id
    )
    assert result.returncode == 0, result.stderr
    described = json.loads(result.stdout)["UserPoolClient"]
    assert described == {
        "UserPoolId": POOL,
        "ClientId": M2M.client_id,
        "ClientName": "machine",
        "ClientSecret": M2M.client_secret,
        "AllowedOAuthScopes": [INVOKE, READ],
        "AllowedOAuthFlows": ["client_credentials"],
    }


@pytest.fixture(scope="module")
def idp(issuer: LocalIssuer) -> Any:
    return boto3.client(
        "cognito-idp",
        endpoint_url=issuer.base_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_boto3_initiate_auth(issuer: LocalIssuer, idp: Any) -> None:
    answer = idp.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=USER_LOGIN.client_id,
        AuthParameters={"USERNAME": ALEX.username, "PASSWORD": ALEX.password},
    )
    assert answer["ChallengeParameters"] == {}
    claims = verify(issuer, answer["AuthenticationResult"]["AccessToken"])
    assert (claims["token_use"], claims["client_id"]) == ("access", USER_LOGIN.client_id)


def test_boto3_describe_user_pool_client(idp: Any) -> None:
    machine = idp.describe_user_pool_client(UserPoolId=POOL, ClientId=M2M.client_id)["UserPoolClient"]
    assert machine["ClientSecret"] == M2M.client_secret
    assert machine["AllowedOAuthFlows"] == ["client_credentials"]
    public = idp.describe_user_pool_client(UserPoolId=POOL, ClientId=USER_LOGIN.client_id)
    assert public["UserPoolClient"]["ClientName"] == "web"
    assert "ClientSecret" not in public["UserPoolClient"]


def test_client_secrets_only_to_callers_signing_with_the_stacks_credentials(issuer: LocalIssuer) -> None:
    def describe(**credentials: Any) -> Any:
        client = boto3.client(
            "cognito-idp", endpoint_url=issuer.base_url, region_name="us-east-1", **credentials
        )
        return client.describe_user_pool_client(UserPoolId=POOL, ClientId=M2M.client_id)

    for wrong in ({"aws_access_key_id": "testing", "aws_secret_access_key": "guessed"},
                  {"aws_access_key_id": "someone", "aws_secret_access_key": "testing"}):  # fmt: skip
        with pytest.raises(ClientError) as refused:
            describe(**wrong)
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    unsigned = httpx.post(
        issuer.base_url,
        headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.DescribeUserPoolClient"},
        json={"UserPoolId": POOL, "ClientId": M2M.client_id},
        timeout=10,
    )
    assert (unsigned.status_code, unsigned.json()["__type"]) == (400, "MissingAuthenticationTokenException")
    assert M2M.client_secret and M2M.client_secret not in unsigned.text
    signed = describe(aws_access_key_id="testing", aws_secret_access_key="testing")
    assert signed["UserPoolClient"]["ClientSecret"] == M2M.client_secret


def test_without_api_credentials_no_secret_is_ever_described() -> None:
    from scripts.localdev.sigv4 import signed_by_known_credentials

    assert IssuerConfig.from_dict({}).api_credentials == {}
    assert not signed_by_known_credentials("POST", "http://127.0.0.1/", {"authorization": "x"}, b"", {})


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        (
            lambda idp: idp.initiate_auth(
                AuthFlow="USER_PASSWORD_AUTH",
                ClientId=USER_LOGIN.client_id,
                AuthParameters={"USERNAME": "nobody", "PASSWORD": "x"},
            ),
            "NotAuthorizedException",
            "Incorrect username or password.",
        ),
        (
            lambda idp: idp.initiate_auth(
                AuthFlow="USER_PASSWORD_AUTH",
                ClientId=M2M.client_id,
                AuthParameters={"USERNAME": ALEX.username, "PASSWORD": ALEX.password},
            ),
            "ResourceNotFoundException",
            "User pool client does not exist.",
        ),
        (
            lambda idp: idp.initiate_auth(
                AuthFlow="USER_SRP_AUTH",
                ClientId=USER_LOGIN.client_id,
                AuthParameters={"USERNAME": ALEX.username, "SRP_A": "1"},
            ),
            "InvalidParameterException",
            "Only USER_PASSWORD_AUTH is supported",
        ),
        (
            lambda idp: idp.describe_user_pool_client(UserPoolId=POOL, ClientId="nope"),
            "ResourceNotFoundException",
            "User pool client does not exist.",
        ),
        (
            lambda idp: idp.describe_user_pool_client(UserPoolId="us-east-1_OTHER", ClientId=M2M.client_id),
            "ResourceNotFoundException",
            "User pool does not exist.",
        ),
        (
            lambda idp: idp.list_user_pools(MaxResults=10),
            "UnknownOperationException",
            "ListUserPools is not supported locally",
        ),
    ],
    ids=[
        "unknown-user",
        "not-a-login-client",
        "other-flow",
        "unknown-client",
        "unknown-pool",
        "unsupported-operation",
    ],
)
def test_boto3_errors(idp: Any, call: Callable[[Any], Any], code: str, message: str) -> None:
    with pytest.raises(ClientError) as raised:
        call(idp)
    error = raised.value.response["Error"]
    assert (error["Code"], error["Message"]) == (code, message)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("headers", "body", "error_type"),
    [
        ({}, b"{}", "UnknownOperationException"),
        ({"X-Amz-Target": "SomethingElse.InitiateAuth"}, b"{}", "UnknownOperationException"),
        (
            {"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
            b"not json",
            "InvalidParameterException",
        ),
        (
            {"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
            b"[1, 2]",
            "InvalidParameterException",
        ),
    ],
)
def test_cognito_api_error_shape(
    issuer: LocalIssuer, headers: dict[str, str], body: bytes, error_type: str
) -> None:
    response = httpx.post(
        issuer.base_url + "/",
        content=body,
        timeout=10,
        headers={"Content-Type": "application/x-amz-json-1.1", **headers},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    document = response.json()
    assert set(document) == {"__type", "message"}
    assert document["__type"] == error_type
    assert document["message"]


# -- the command-line entry point --------------------------------------------------------------
def test_issuer_runs_as_a_process_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "issuer.json"
    config.write_text(
        json.dumps(
            {
                "pool_id": "us-east-1_FILE",
                "token_lifetime": 300,
                "clients": [{"client_id": "c1", "client_secret": "s1", "allowed_scopes": [INVOKE]}],
            }
        )
    )
    ready = tmp_path / "ready.json"
    proc = start_process(
        [
            str(VENV_BIN / "python"),
            "-m",
            "scripts.localdev.issuer",
            "--config",
            str(config),
            "--ready-file",
            str(ready),
        ],
        cwd=REPO,
        log=tmp_path / "log",
    )
    try:
        deadline = time.monotonic() + 30
        urls: dict[str, str] = {}
        while not urls:
            assert proc.poll() is None, (tmp_path / "log").read_text()
            assert time.monotonic() < deadline
            try:
                urls = json.loads(ready.read_text())
            except (OSError, ValueError):  # not written yet, or half written
                time.sleep(0.05)
        assert urls["issuer"].startswith("http://127.0.0.1:") and urls["issuer"].endswith("/us-east-1_FILE")
        deadline = time.monotonic() + 30
        while True:
            try:
                discovery = httpx.get(urls["discovery_url"], timeout=2).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert discovery["issuer"] == urls["issuer"]
        response = httpx.post(
            urls["token_url"], data={"grant_type": "client_credentials"}, auth=("c1", "s1"), timeout=10
        )
        assert response.status_code == 200 and response.json()["expires_in"] == 300
        token = response.json()["access_token"]
        key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=urls["issuer"])
        assert (claims["client_id"], claims["scope"]) == ("c1", INVOKE)
    finally:
        stop_process(proc)
    assert proc.returncode is not None
