"""Checks an AWS Signature Version 4 on a request to a local stand-in, with botocore's own signer.

The local issuer's Cognito API answers ``DescribeUserPoolClient`` (which carries a machine client's
secret) only to callers that sign with credentials the issuer was given (``api_credentials`` in its
config; the dev stack generates them), as Cognito answers only IAM-authorised callers. The check
recomputes the signature over the headers the caller signed, with the caller's credential scope and
``X-Amz-Date``, and compares in constant time; a date more than ``MAX_SKEW_SECONDS`` away is refused.
"""

from __future__ import annotations

import datetime
import hmac
import re
from collections.abc import Mapping

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW_SECONDS = 300  # what AWS allows between the signer's clock and its own
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


def signed_by_known_credentials(
    method: str, url: str, headers: Mapping[str, str], body: bytes, credentials: Mapping[str, str]
) -> bool:
    """Whether the request carries a valid, current SigV4 signature by one of `credentials` (id -> secret)."""
    found = _AUTHORIZATION.fullmatch(headers.get("authorization", "").strip())
    stamp = headers.get("x-amz-date", "")
    if found is None or found["key"] not in credentials or not stamp.startswith(found["date"]):
        return False
    try:
        signed_at = datetime.datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return False
    if abs((datetime.datetime.now(datetime.timezone.utc) - signed_at).total_seconds()) > MAX_SKEW_SECONDS:
        return False
    names = found["signed"].split(";")
    if "host" not in names or any(name not in headers for name in names):
        return False
    request = AWSRequest(method=method, url=url, data=body, headers={name: headers[name] for name in names})
    request.context["timestamp"] = stamp
    signer = SigV4Auth(
        Credentials(found["key"], credentials[found["key"]]), found["service"], found["region"]
    )
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return hmac.compare_digest(expected, found["signature"])
