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


@pytest.mark.parametrize(
    ("email", "accepted"),
    [
        ("ana@example.com", True),
        ("Ana.Lopez@EXAMPLE.COM", True),
        ("bo@example.org", True),
        ("  bo@example.org  ", True),
        ("bo@example.com.", True),  # a fully-qualified trailing dot names the same domain
        ('"odd@local"@example.com', True),  # the domain is what follows the LAST @
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
    ],
)
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
        assert str(rejected.value) in {handler.REJECTED, handler.MISSING_EMAIL}
        assert "example" not in str(rejected.value)  # the allowed list is never disclosed


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
