"""Edge grants in the manifest: what ``configure`` writes for them and what ``check`` requires.

The agent requires a front-door edge grant on every customer request when ``EDGE_GRANT_SECRET_ID``
is set (docs/edge-code.md). The prerequisites stack makes the key (Secrets Manager), the nonce
ledger (DynamoDB) and a managed policy for the runtime's role; ``configure`` writes their names into
the runtime's envVars and the policy's ARN into its ``additionalPolicies``, which the vended CDK app
(``@aws/agentcore-cdk``, ``AgentCoreRuntime.attachAdditionalPolicies``) attaches to the execution
role at ``agentcore deploy``. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

EDGE_KEYS = ("edge_secret_arn", "edge_nonce_table", "edge_policy_arn")  # all three or none
SECRET_ENV = "EDGE_GRANT_SECRET_ID"
TABLE_ENV = "EDGE_NONCE_TABLE"
EXEMPT_ENV = "EDGE_EXEMPT_CLIENTS"
KEYS_ENV = "EDGE_GRANT_KEYS"  # a literal key: local development only, never in the manifest
GRANT_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Edge-Grant"
POLICY_PATH = ":policy/customersupport-edge/"  # prerequisites.yaml's EdgeRuntimePolicy Path
SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+")
POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:policy/customersupport-edge/[A-Za-z0-9_+=,.@-]+")
TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")

Setter = Callable[[dict[str, Any], str, Any, str], None]


def validate(values: Mapping[str, str]) -> dict[str, str]:
    """The edge values, checked ({} when none is given); ValueError when some or a bad one is."""
    given = {key: str(values[key]).strip() for key in EDGE_KEYS if values.get(key)}
    if not given:
        return {}
    missing = [key for key in EDGE_KEYS if key not in given]
    if missing:
        raise ValueError(f"edge grants need all of {', '.join(EDGE_KEYS)}; missing: {', '.join(missing)}")
    for key, pattern, what in (
        ("edge_secret_arn", SECRET_ARN, "a Secrets Manager secret ARN"),
        ("edge_nonce_table", TABLE_NAME, "a DynamoDB table name"),
        ("edge_policy_arn", POLICY_ARN, "a managed policy ARN under /customersupport-edge/"),
    ):
        if not pattern.fullmatch(given[key]):
            raise ValueError(f"{key} {given[key]!r} is not {what}")
    return given


def apply(
    runtime: dict[str, Any], edge: Mapping[str, str], machine_client: str, label: str, set_: Setter
) -> None:
    """Write the edge values into `runtime` (envVars, additionalPolicies) through `set_`."""
    env_list = runtime.setdefault("envVars", [])
    for name, value in (
        (SECRET_ENV, edge["edge_secret_arn"]),
        (TABLE_ENV, edge["edge_nonce_table"]),
        (EXEMPT_ENV, machine_client),  # operators' client_credentials tokens call the runtime directly
    ):
        entry = next((e for e in env_list if isinstance(e, dict) and e.get("name") == name), None)
        if entry is None:
            entry = {"name": name}
            env_list.append(entry)
        set_(entry, "value", value, f"{label}.envVars[{name}]")
    policies = with_policy(runtime.get("additionalPolicies"), POLICY_PATH, edge["edge_policy_arn"])
    set_(runtime, "additionalPolicies", policies, f"{label}.additionalPolicies")


def with_policy(current: Any, marker: str, arn: str) -> list[str]:
    """`current` additionalPolicies with our entry (recognised by `marker`, its path) set to `arn`.

    Replaced where it stands (else appended), so entries of several owners keep their order and a
    re-run changes nothing; an operator's own policies are kept.
    """
    policies = [p for p in current if isinstance(p, str)] if isinstance(current, list) else []
    ours = next((i for i, p in enumerate(policies) if marker in p), None)
    if ours is None:
        return [*policies, arn]
    return [arn if i == ours else p for i, p in enumerate(policies) if i == ours or marker not in p]


def problems(
    runtime: dict[str, Any], env: Mapping[str, Any], allowed_clients: list[str], label: str
) -> list[str]:
    """What keeps the runtime's edge-grant settings from working (see the module docstring)."""
    found: list[str] = []
    if KEYS_ENV in env:
        found.append(
            f"{label}: envVars must not set {KEYS_ENV}: a key in the manifest ends up in git and in the "
            f"CloudFormation template; use {SECRET_ENV} (the prerequisites' edge_grant_secret_arn)"
        )
    secret = env.get(SECRET_ENV)
    if not secret:
        return found
    if str(secret).startswith("arn:") and not SECRET_ARN.fullmatch(str(secret)):
        found.append(f"{label}: envVars {SECRET_ENV} {secret!r} is not a Secrets Manager secret ARN")
    if not env.get(TABLE_ENV):
        found.append(
            f"{label}: envVars sets {SECRET_ENV} without {TABLE_ENV}: every session's microVM would keep "
            "its own nonce ledger, so a grant could be replayed under another session id"
        )
    headers = runtime.get("requestHeaderAllowlist")
    names = {h.lower() for h in headers if isinstance(h, str)} if isinstance(headers, list) else set()
    if GRANT_HEADER.lower() not in names:
        found.append(
            f"{label}: requestHeaderAllowlist must contain {GRANT_HEADER} when {SECRET_ENV} is set, or no "
            "grant reaches the agent and every customer is refused"
        )
    exempt = [c.strip() for c in str(env.get(EXEMPT_ENV) or "").split(",") if c.strip()]
    stray = [c for c in exempt if c not in allowed_clients]
    if stray:
        found.append(
            f"{label}: envVars {EXEMPT_ENV} names {', '.join(stray)}, which the authorizer's allowedClients "
            "does not allow (a stale client id?)"
        )
    policies = runtime.get("additionalPolicies")
    if not runtime.get("executionRoleArn") and not (isinstance(policies, list) and policies):
        found.append(
            f"{label}: {SECRET_ENV} is set but additionalPolicies is empty: the execution role cannot read "
            "the key or write the ledger (add the prerequisites' edge_runtime_policy_arn)"
        )
    return found
