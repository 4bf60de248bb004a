"""The sign-up rule of the deployed pool, for local sign-up pages: runs app/PreSignUp/handler.py itself.

``sign_up_refusal(email)`` loads the very file the prerequisites stack deploys as the PreSignUp
Lambda, applies its ``domain_rule`` to the address with the domains of ``ORGANIZATION_DOMAIN`` (the
Lambda's configuration variable), and returns the message Cognito would show (``None`` when
admitted): a local sign-up page enforces the same domains with the same code and the same words.
``token_refusal(email)`` is the same handler as the pool's pre token generation trigger: the rule
again on the user's current address whenever tokens are issued (an e-mail changed after sign-up).
``canonical_email`` is the handler's one-account form of an address (lower-case).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Mapping
from types import ModuleType

from scripts.localdev.paths import REPO

HANDLER = REPO / "app" / "PreSignUp" / "handler.py"
# What Cognito puts before a trigger's exception message.
COGNITO_PREFIX = "PreSignUp failed with error "
TOKEN_PREFIX = "PreTokenGeneration failed with error "


@functools.lru_cache(maxsize=1)
def _trigger() -> ModuleType:
    spec = importlib.util.spec_from_file_location("presignup_trigger", HANDLER)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HANDLER}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sign_up_refusal(email: str, env: Mapping[str, str] | None = None) -> str | None:
    """Cognito's message refusing a sign-up with `email`, or None if the trigger admits it."""
    trigger = _trigger()
    domains = (os.environ if env is None else env).get(trigger.DOMAINS_ENV, "")
    try:
        # The trigger's own decision with its configuration passed in: no process-wide environment
        # change, so concurrent requests of a local server cannot see each other's settings.
        trigger.domain_rule(email, trigger.allowed_domains(domains))
    except trigger.SignUpRejected as refused:
        return f"{COGNITO_PREFIX}{refused}."
    return None


def token_refusal(email: str, env: Mapping[str, str] | None = None) -> str | None:
    """Cognito's message refusing tokens to a user whose current `email` the trigger refuses, or None."""
    refusal = sign_up_refusal(email, env)
    return None if refusal is None else TOKEN_PREFIX + refusal.removeprefix(COGNITO_PREFIX)


def canonical_email(email: str) -> str:
    """The trigger's one-account form of a (valid) address."""
    return str(_trigger().canonical_email(email))
