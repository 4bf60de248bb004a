"""The local front door answers bad tokens as API Gateway + the deployed authorizer would.

The deployed answer of each row is computed from the deployed pieces themselves: the template's
``IdentityValidationExpression`` (API Gateway refuses a non-matching header with 401 without invoking
the function), then app/FrontDoorAuthorizer/handler.py's ``lambda_handler`` (``Unauthorized`` → 401,
a Deny policy → 403). The twin is asked over real HTTP. Both must match the table's status.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cfnlint.decode import cfn_yaml

from auth.edge import EDGE_GRANT_HEADER
from scripts.localdev.edge_authorizer import HANDLER, IDENTITY_PATTERN
from scripts.localdev.frontdoor import build_frontdoor
from scripts.localdev.serving import BackgroundServer
from settings import AuthSettings
from tests.support.processes import REPO
from tests.support.stack import SCOPE, USER_CLIENT

TEMPLATE = REPO / "scripts" / "deploy" / "frontdoor.yaml"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/POST/invocations"


def _claims(issuer: Any, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": issuer.issuer, "sub": "sub-twin", "client_id": USER_CLIENT, "token_use": "access",
        "scope": f"openid {SCOPE}", "iat": now, "exp": now + 600, "jti": str(uuid.uuid4()),
    }  # fmt: skip
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def _good(issuer: Any) -> str:
    return str(issuer.sign(_claims(issuer)))


def _signed(**overrides: Any) -> Callable[[Any], str]:
    return lambda issuer: "Bearer " + issuer.sign(_claims(issuer, **overrides))


def _forged(issuer: Any) -> str:
    good = _good(issuer)
    return "Bearer " + good[: good.rindex(".") + 1] + "A" * 43


def _alg_none(issuer: Any) -> str:
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"Bearer {part({'alg': 'none', 'typ': 'JWT'})}.{part(_claims(issuer))}.x"


# name → (Authorization header from the issuer (None: no header), status API Gateway answers)
TABLE: dict[str, tuple[Callable[[Any], str | None], int]] = {
    "no header": (lambda i: None, 401),
    "empty": (lambda i: "", 401),
    "scheme only": (lambda i: "Bearer", 401),
    "lower-case bearer": (lambda i: "bearer " + _good(i), 401),
    "upper-case BEARER": (lambda i: "BEARER " + _good(i), 401),
    "two spaces": (lambda i: "Bearer  " + _good(i), 401),
    "tab separator": (lambda i: "Bearer\t" + _good(i), 401),
    "basic credentials": (lambda i: "Basic dXNlcjpwYXNz", 401),
    "not a JWT": (lambda i: "Bearer not-a-jwt", 401),
    "JWT-shaped junk": (lambda i: "Bearer a.b.c", 401),
    "forged signature": (_forged, 401),
    "alg none": (_alg_none, 401),
    "unknown key id": (lambda i: "Bearer " + i.sign(_claims(i), kid=uuid.uuid4().hex), 401),
    "expired": (_signed(exp=int(time.time()) - 3600), 401),
    "other issuer": (_signed(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"), 401),
    "ID token": (_signed(token_use="id"), 401),
    "no token_use": (_signed(token_use=None), 401),
    "no sub": (_signed(sub=None), 401),
    "other client": (_signed(client_id="someone-elses-client"), 403),
    "no invoke scope": (_signed(scope="openid email"), 403),
    "no scope at all": (_signed(scope=None), 403),
}


@pytest.fixture(scope="module")
def deployed(issuer: Any) -> Callable[[str | None], int]:
    """API Gateway's status for a header: the template's pattern, then the authorizer's own code."""
    pattern = cfn_yaml.load(str(TEMPLATE))["Resources"]["Authorizer"]["Properties"][
        "IdentityValidationExpression"
    ]
    env = {
        "ISSUER": issuer.issuer, "ALLOWED_CLIENT_IDS": USER_CLIENT, "REQUIRED_SCOPE": SCOPE,
        "USAGE_PLAN_ID": "unused-for-refusals", "API_KEY_NAME_PREFIX": "twin-",
    }  # fmt: skip
    name = f"authorizer_table_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, HANDLER)
    assert spec is not None and spec.loader is not None
    handler: Any = importlib.util.module_from_spec(spec)
    sys.modules[name] = handler
    spec.loader.exec_module(handler)
    handler._config = lambda: handler.Config.from_env(env)  # the Lambda's environment, not this process's

    def status(authorization: str | None) -> int:
        if authorization is None or not re.fullmatch(pattern, authorization):
            return 401
        event = {"type": "TOKEN", "authorizationToken": authorization, "methodArn": METHOD_ARN}
        try:
            result = handler.lambda_handler(event, None)
        except Exception as refused:  # noqa: BLE001 - API Gateway maps exactly "Unauthorized" to 401
            return 401 if str(refused) == "Unauthorized" else 500
        return 403 if result["policyDocument"]["Statement"][0]["Effect"] == "Deny" else 200

    return status


@pytest.fixture(scope="module")
def twin(issuer: Any) -> Iterator[str]:
    auth = AuthSettings(
        discovery_url=issuer.discovery_url, allowed_clients=(USER_CLIENT,), allowed_scopes=(SCOPE,)
    )
    # Nothing listens upstream: refusals never get that far; a request that does gets a 502.
    app = build_frontdoor("http://127.0.0.1:9", "http://127.0.0.1:5173", auth, body_timeout=1.0)
    with BackgroundServer(app) as server:
        yield server.url


@pytest.mark.parametrize("case", list(TABLE))
def test_bad_tokens_get_the_deployed_status(case: str, issuer: Any, deployed: Any, twin: str) -> None:
    make, expected = TABLE[case]
    authorization = make(issuer)
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = httpx.post(f"{twin}/invocations", json={"prompt": "hi"}, headers=headers, timeout=15)
    assert (deployed(authorization), answer.status_code) == (expected, expected)
    body = answer.json()
    if expected == 401:
        assert body == {"message": "Unauthorized"}
    else:
        assert body == {"Message": "User is not authorized to access this resource with an explicit deny"}


def test_the_twin_uses_the_templates_bearer_pattern() -> None:
    template = cfn_yaml.load(str(TEMPLATE))
    assert (
        template["Resources"]["Authorizer"]["Properties"]["IdentityValidationExpression"] == IDENTITY_PATTERN
    )


def test_a_stalled_body_is_408_after_the_timeout_and_the_door_stays_up(issuer: Any, twin: str) -> None:
    port = int(twin.rsplit(":", 1)[1])
    request = (
        "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {_good(issuer)}\r\nContent-Length: 100\r\n\r\n"
    ).encode() + b'{"prompt": "hi'  # and then nothing more
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        start = time.monotonic()
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        elapsed = time.monotonic() - start
    head, _, payload = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(payload) == {"message": "Body not received within 1 seconds"}
    assert 0.9 <= elapsed < 5
    late = httpx.post(
        f"{twin}/invocations", json={"prompt": "hi"}, headers={"Authorization": "Bearer x"}, timeout=5
    )
    assert late.status_code == 401


def test_the_template_wires_the_grant_and_turns_the_authorizer_cache_off_for_it() -> None:
    resources = cfn_yaml.load(str(TEMPLATE))["Resources"]
    mapping = resources["InvocationsMethod"]["Properties"]["Integration"]["RequestParameters"]
    assert mapping[f"integration.request.header.{EDGE_GRANT_HEADER}"] == "context.authorizer.edgeGrant"
    ttl = resources["Authorizer"]["Properties"]["AuthorizerResultTtlInSeconds"]
    assert ttl == {"Fn::If": ["HasEdgeGrant", 0, {"Ref": "AuthorizerCacheSeconds"}]}
    env = resources["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EDGE_GRANT_SECRET_ID"] == {
        "Fn::If": ["HasEdgeGrant", {"Ref": "EdgeGrantSecretArn"}, {"Ref": "AWS::NoValue"}]
    }
    statement = resources["AuthorizerEdgeGrantPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement == [
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": "EdgeGrantSecretArn"},
        }
    ]
