"""PreSignUp: Amazon Cognito pre sign-up (and pre token generation) trigger: only addresses of your domains.

Trigger contract (Cognito -> Lambda, trigger source ``PreSignUp_SignUp``, ``PreSignUp_AdminCreateUser``
or ``PreSignUp_ExternalProvider``):

* ``event["request"]["userAttributes"]["email"]`` is the address being registered (a pool whose
  sign-in alias is e-mail always sends it; it can be missing when the pool does not require it).
* Accept: return the event (unchanged: ``response.autoConfirmUser`` and ``autoVerifyEmail`` stay
  false, so the customer still proves the address with the e-mailed code).
* Reject: raise an exception. Cognito aborts the sign-up and shows the exception's message to the
  user, prefixed with ``PreSignUp failed with error``. The message therefore names the rule,
  never the list of allowed domains (which would tell outsiders which addresses to forge).

Also a Cognito pre token generation trigger (trigger sources ``TokenGeneration_*``): the same rule on
the user's current ``email`` at every sign-in and refresh, so an address changed after sign-up to one
outside the organization gets no more tokens (Cognito runs PreSignUp only at sign-up). Machine tokens
(``TokenGeneration_ClientCredentials``, no user) pass.

Policy (``parse_address`` and ``domain_rule``; docs/edge-code.md has the table):

* One plain address: exactly one ``@``; ASCII only (internationalized addresses are refused: use the
  domain's ASCII ``xn--`` form); no whitespace or control characters; no quotes, angle brackets,
  parentheses, commas, semicolons, colons, brackets or backslashes (no display names, lists,
  comments or quoted local parts); a dot-atom local part (``email.headerregistry.Address`` parses
  it); a domain of letter-digit-hyphen labels with no trailing dot; at most 254 characters.
* ``ORGANIZATION_DOMAIN``: comma-separated list of allowed domains, e.g. ``example.com,example.org``.
  The parsed domain must equal one exactly, case-insensitively; subdomains are NOT included
  (``mail.example.com`` needs its own entry), so ``example.com.attacker.net`` or ``evil-example.com``
  never pass.
* An empty or missing ``ORGANIZATION_DOMAIN`` rejects everybody (fail closed): a misconfigured
  trigger must not open the pool to the internet.

``domain_rule(email, allowed)`` is the pure decision (used by the local sign-up page as well);
``canonical_email`` is the address as one account (lower-case: ``Dup@`` and ``dup@`` are the same
mailbox, as the pool's case-insensitive usernames treat them); ``lambda_handler`` wraps it. Standard
library only: the function ships without dependencies.
"""

from __future__ import annotations

import logging
import os
import re
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from typing import Any

DOMAINS_ENV = "ORGANIZATION_DOMAIN"
REJECTED = "Sign-up is limited to e-mail addresses of our organization; use your work address."
MISSING_EMAIL = "An e-mail address is required to sign up."
INVALID = "Enter one plain e-mail address, such as name@example.com."
MAX_LENGTH = 254  # RFC 5321's limit on a forward path
FORBIDDEN = frozenset('"<>(),;:[]\\')  # display names, lists, comments, quoted parts, literals
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


class SignUpRejected(Exception):
    """Raised to make Cognito refuse the sign-up; its message is shown to the user."""


def allowed_domains(raw: str | None) -> frozenset[str]:
    """The configured domains, lower-case, without blanks or a leading ``@``."""
    return frozenset(d.strip().lstrip("@").lower() for d in (raw or "").split(",") if d.strip().lstrip("@"))


def parse_address(email: Any) -> tuple[str, str]:
    """(local part, lower-case domain) of one plain address; SignUpRejected with the reason otherwise."""
    if not isinstance(email, str) or not email or "@" not in email:
        raise SignUpRejected(MISSING_EMAIL)
    if (
        len(email) > MAX_LENGTH
        or not email.isascii()
        or any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c in FORBIDDEN for c in email)
        or email.count("@") != 1
    ):
        raise SignUpRejected(INVALID)
    try:
        parsed = Address(addr_spec=email)
    except (HeaderParseError, MessageDefect, ValueError, IndexError):
        raise SignUpRejected(INVALID) from None
    domain = parsed.domain.lower()
    if (
        parsed.addr_spec != email
        or not parsed.username
        or not all(_LABEL.fullmatch(x) for x in domain.split("."))
    ):
        raise SignUpRejected(INVALID)  # also a trailing dot: its last label is empty
    return parsed.username, domain


def canonical_email(email: Any) -> str:
    """The address as one account: parsed, lower-case (SignUpRejected if it is not one address)."""
    local, domain = parse_address(email)
    return f"{local.lower()}@{domain}"


def domain_rule(email: Any, allowed: frozenset[str]) -> None:
    """Return if `email` is one plain address of an `allowed` domain; else SignUpRejected (user-facing)."""
    _, domain = parse_address(email)
    if domain not in allowed:
        raise SignUpRejected(REJECTED)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Cognito entry point: the event back to accept, SignUpRejected to refuse."""
    trigger = str(event.get("triggerSource"))
    if trigger == "TokenGeneration_ClientCredentials":  # a machine token: no user, no address
        return event
    attributes = (event.get("request") or {}).get("userAttributes") or {}
    try:
        domain_rule(attributes.get("email"), allowed_domains(os.environ.get(DOMAINS_ENV)))
    except SignUpRejected:
        # Outcome only: the address is personal data and stays out of the logs.
        logger.info("trigger=%s outcome=rejected", trigger)
        raise
    logger.info("trigger=%s outcome=accepted", trigger)
    return event
