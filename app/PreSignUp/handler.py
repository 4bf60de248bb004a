"""PreSignUp: Amazon Cognito pre sign-up Lambda trigger that admits only e-mail addresses of your domains.

Trigger contract (Cognito -> Lambda, trigger source ``PreSignUp_SignUp``, ``PreSignUp_AdminCreateUser``
or ``PreSignUp_ExternalProvider``):

* ``event["request"]["userAttributes"]["email"]`` is the address being registered (a pool whose
  sign-in alias is e-mail always sends it; it can be missing when the pool does not require it).
* Accept: return the event (unchanged: ``response.autoConfirmUser`` and ``autoVerifyEmail`` stay
  false, so the customer still proves the address with the e-mailed code).
* Reject: raise an exception. Cognito aborts the sign-up and shows the exception's message to the
  user, prefixed with ``PreSignUp failed with error``. The message therefore names the rule,
  never the list of allowed domains (which would tell outsiders which addresses to forge).

Policy:

* ``ORGANIZATION_DOMAIN``: comma-separated list of allowed domains, e.g. ``example.com,example.org``.
  A match is exact on the part after the last ``@``, case-insensitive; subdomains are NOT included
  (``mail.example.com`` needs its own entry), so ``example.com.attacker.net`` or
  ``evil-example.com`` never pass.
* An empty or missing ``ORGANIZATION_DOMAIN`` rejects everybody (fail closed): a misconfigured
  trigger must not open the pool to the internet.

``domain_rule(email, allowed)`` is the pure decision (used by the local sign-up page as well);
``lambda_handler`` wraps it. Standard library only: the function ships without dependencies.
"""

from __future__ import annotations

import logging
import os
from typing import Any

DOMAINS_ENV = "ORGANIZATION_DOMAIN"
REJECTED = "Sign-up is limited to e-mail addresses of our organization; use your work address."
MISSING_EMAIL = "An e-mail address is required to sign up."

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


class SignUpRejected(Exception):
    """Raised to make Cognito refuse the sign-up; its message is shown to the user."""


def allowed_domains(raw: str | None) -> frozenset[str]:
    """The configured domains, lower-case, without blanks or a leading ``@``."""
    return frozenset(d.strip().lstrip("@").lower() for d in (raw or "").split(",") if d.strip().lstrip("@"))


def domain_rule(email: Any, allowed: frozenset[str]) -> None:
    """Return if `email` belongs to one of `allowed`; raise SignUpRejected with a user-facing message."""
    if not isinstance(email, str) or not email.strip():
        raise SignUpRejected(MISSING_EMAIL)
    local, at, domain = email.strip().rpartition("@")
    if not at or not local or not domain:
        raise SignUpRejected(MISSING_EMAIL)
    if domain.lower().rstrip(".") not in allowed:
        raise SignUpRejected(REJECTED)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Cognito entry point: the event back to accept, SignUpRejected to refuse."""
    attributes = (event.get("request") or {}).get("userAttributes") or {}
    try:
        domain_rule(attributes.get("email"), allowed_domains(os.environ.get(DOMAINS_ENV)))
    except SignUpRejected:
        # Outcome only: the address is personal data and stays out of the logs.
        logger.info("trigger=%s outcome=rejected", event.get("triggerSource"))
        raise
    logger.info("trigger=%s outcome=accepted", event.get("triggerSource"))
    return event
