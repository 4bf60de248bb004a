"""The pre sign-up trigger (app/PreSignUp/handler.py): the domain rule as an accept/reject table."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HANDLER = Path(__file__).resolve().parents[1] / "app" / "PreSignUp" / "handler.py"


def _load() -> ModuleType:
    # Loaded from its file, as Lambda does.
    spec = importlib.util.spec_from_file_location("presignup_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handler = _load()


def event(email: Any, trigger: str = "PreSignUp_SignUp") -> dict[str, Any]:
    """A PreSignUp event shaped as Cognito sends it."""
    attributes = {} if email is None else {"email": email}
    return {
        "version": "1",
        "region": "us-east-1",
        "userPoolId": "us-east-1_AbCdEf123",
        "userName": "3f1c7e9a-0000-4000-8000-000000000000",
        "triggerSource": trigger,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client"},
        "request": {"userAttributes": attributes, "validationData": None},
        "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    }


ALLOWED = "example.com, Example.org"


# The address rule as a table (docs/edge-code.md): every case of issue 19 and the usual suspects.
ADDRESS_TABLE: list[tuple[Any, bool]] = [
    ("ana@example.com", True),
    ("Ana.Lopez@EXAMPLE.COM", True),  # the domain compares case-insensitively
    ("bo@example.org", True),
    ("first.last+support@example.com", True),  # a dot-atom local part may hold + and dots
    ("Dup@example.com", True),  # admitted; the same account as dup@ (canonical_email, case-insensitive pool)
    ("dup@Example.Com", True),
    ("dup@example.com.", False),  # a trailing dot: refused, not a second spelling of the domain
    ("a@evil.com@example.com", False),  # two @: the rule no longer reads "after the last @"
    ("a@evil.com,b@example.com", False),  # a list
    ("a@evil.com, b@example.com", False),
    ("a@evil.com b@example.com", False),  # a space-separated list
    ("a@evil.com;b@example.com", False),
    ("<a@evil.com>@example.com", False),  # angle brackets
    ("Eve <eve@example.com>", False),  # a display name
    ('"a@evil.com"@example.com', False),  # a quoted local part
    ('"odd@local"@example.com', False),
    ("a@evil.com\n@example.com", False),  # an embedded newline
    ("ana@example.com\nbcc@evil.com", False),
    ("ana@example.com\r", False),
    ("ana\x00@example.com", False),  # a control character
    ("ana\t@example.com", False),
    ("  bo@example.org  ", False),  # whitespace (the local sign-up form trims what it is typed)
    ("ana(comment)@example.com", False),  # a comment
    ("ana@[192.0.2.1]", False),  # an address literal
    ("ana\\@example.com", False),
    (".ana@example.com", False),  # not a dot-atom
    ("an..a@example.com", False),
    ("ana@example..com", False),
    ("ana@-example.com", False),  # labels are letters, digits, inner hyphens
    ("ana@exa_mple.com", False),
    ("ana@bücher.example", False),  # IDN: refused (configure and type the xn-- form)
    ("anä@example.com", False),  # a non-ASCII local part
    ("ana@exаmple.com", False),  # a Cyrillic а: a homograph of example.com
    ("a" * 250 + "@example.com", False),  # longer than 254 characters
    ("eve@example.net", False),
    ("eve@mail.example.com", False),  # subdomains need their own entry
    ("eve@example.com.attacker.net", False),
    ("eve@evil-example.com", False),
    ("eve@example.com@attacker.net", False),
    ("example.com", False),
    ("@example.com", False),
    ("eve@", False),
    ("", False),
    (None, False),
    (42, False),
]


@pytest.mark.parametrize(("email", "accepted"), ADDRESS_TABLE)
def test_domain_table(email: Any, accepted: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORGANIZATION_DOMAIN", ALLOWED)
    sent = event(email)
    if accepted:
        assert handler.lambda_handler(sent, None) is sent
        assert sent["response"] == {
            "autoConfirmUser": False,
            "autoVerifyEmail": False,
            "autoVerifyPhone": False,
        }
    else:
        with pytest.raises(handler.SignUpRejected) as rejected:
            handler.lambda_handler(sent, None)
        assert str(rejected.value) in {handler.REJECTED, handler.MISSING_EMAIL, handler.INVALID}
        assert "example" not in str(rejected.value).replace("name@example.com", "")  # no allowed list


@pytest.mark.parametrize(
    ("email", "canonical"),
    [
        ("Dup@example.com", "dup@example.com"),
        ("dup@Example.Com", "dup@example.com"),
        ("DUP@EXAMPLE.COM", "dup@example.com"),
    ],
)
def test_one_mailbox_one_canonical_address(email: str, canonical: str) -> None:
    assert handler.canonical_email(email) == canonical


@pytest.mark.parametrize(
    "trigger",
    ["TokenGeneration_HostedAuth", "TokenGeneration_Authentication", "TokenGeneration_RefreshTokens"],
)
def test_an_email_changed_after_sign_up_gets_no_more_tokens(
    trigger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORGANIZATION_DOMAIN", "example.com")
    assert handler.lambda_handler(event("ana@example.com", trigger), None)["triggerSource"] == trigger
    with pytest.raises(handler.SignUpRejected):
        handler.lambda_handler(event("ana@elsewhere.net", trigger), None)


def test_machine_tokens_pass_the_token_generation_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORGANIZATION_DOMAIN", "example.com")
    sent = event(None, "TokenGeneration_ClientCredentials")
    assert handler.lambda_handler(sent, None) is sent


@pytest.mark.parametrize("email", ["", "no-at-sign", None])
def test_missing_email_gets_its_own_message(email: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORGANIZATION_DOMAIN", ALLOWED)
    with pytest.raises(handler.SignUpRejected, match="e-mail address is required"):
        handler.lambda_handler(event(email), None)


@pytest.mark.parametrize("configured", [None, "", " , ,", "@"])
def test_no_configured_domain_rejects_everybody(
    configured: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if configured is None:
        monkeypatch.delenv("ORGANIZATION_DOMAIN", raising=False)
    else:
        monkeypatch.setenv("ORGANIZATION_DOMAIN", configured)
    with pytest.raises(handler.SignUpRejected, match="limited to e-mail addresses"):
        handler.lambda_handler(event("ana@example.com"), None)


@pytest.mark.parametrize(
    ("raw", "domains"),
    [
        ("example.com", {"example.com"}),
        (" Example.COM ,@example.org,,", {"example.com", "example.org"}),
        ("", set()),
    ],
)
def test_allowed_domains_parsing(raw: str, domains: set[str]) -> None:
    assert handler.allowed_domains(raw) == frozenset(domains)


@pytest.mark.parametrize(
    "trigger", ["PreSignUp_SignUp", "PreSignUp_AdminCreateUser", "PreSignUp_ExternalProvider"]
)
def test_every_trigger_source_applies_the_rule(trigger: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORGANIZATION_DOMAIN", "example.com")
    assert handler.lambda_handler(event("a@example.com", trigger), None)["triggerSource"] == trigger
    with pytest.raises(handler.SignUpRejected):
        handler.lambda_handler(event("a@example.net", trigger), None)


def test_logs_hold_the_outcome_not_the_address(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ORGANIZATION_DOMAIN", "example.com")
    with caplog.at_level(logging.INFO):
        handler.lambda_handler(event("secret.person@example.com"), None)
        with pytest.raises(handler.SignUpRejected):
            handler.lambda_handler(event("other.person@example.net"), None)
    assert [r.getMessage() for r in caplog.records] == [
        "trigger=PreSignUp_SignUp outcome=accepted",
        "trigger=PreSignUp_SignUp outcome=rejected",
    ]


@pytest.mark.parametrize(
    ("email", "refusal"),
    [
        ("ana@example.com", None),
        ("eve@example.net", f"PreSignUp failed with error {handler.REJECTED}."),
        ("", f"PreSignUp failed with error {handler.MISSING_EMAIL}."),
    ],
)
def test_local_sign_up_pages_run_the_same_handler(email: str, refusal: str | None) -> None:
    from scripts.localdev.signup_policy import sign_up_refusal

    assert sign_up_refusal(email, {"ORGANIZATION_DOMAIN": "example.com"}) == refusal
