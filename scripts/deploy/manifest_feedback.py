"""Answer ratings in the manifest: what ``configure`` writes for them and what ``check`` requires.

The agent stores 👍/👎 ratings when ``FEEDBACK_TABLE_NAME`` is set (docs/feedback.md). The
prerequisites stack makes the table and a managed policy for the runtime's role (path
``/customersupport-feedback/``); ``configure`` writes the table's name into the runtime's envVars and
the policy's ARN into its ``additionalPolicies`` (attached to the execution role at ``agentcore
deploy``), the same way as the edge grants' (scripts/deploy/manifest_edge.py). Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from scripts.deploy.manifest_edge import TABLE_NAME, Setter, with_policy

FEEDBACK_KEYS = ("feedback_table", "feedback_policy_arn")  # both or none
TABLE_ENV = "FEEDBACK_TABLE_NAME"
POLICY_PATH = ":policy/customersupport-feedback/"  # prerequisites.yaml's FeedbackWritePolicy Path
POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:policy/customersupport-feedback/[A-Za-z0-9_+=,.@-]+")


def validate(values: Mapping[str, str]) -> dict[str, str]:
    """The ratings values, checked ({} when none is given); ValueError when one or a bad one is."""
    given = {key: str(values[key]).strip() for key in FEEDBACK_KEYS if values.get(key)}
    if not given:
        return {}
    missing = [key for key in FEEDBACK_KEYS if key not in given]
    if missing:
        raise ValueError(f"ratings need both {' and '.join(FEEDBACK_KEYS)}; missing: {', '.join(missing)}")
    if not TABLE_NAME.fullmatch(given["feedback_table"]):
        raise ValueError(f"feedback_table {given['feedback_table']!r} is not a DynamoDB table name")
    if not POLICY_ARN.fullmatch(given["feedback_policy_arn"]):
        raise ValueError(
            f"feedback_policy_arn {given['feedback_policy_arn']!r} is not a managed policy ARN "
            "under /customersupport-feedback/"
        )
    return given


def apply(runtime: dict[str, Any], values: Mapping[str, str], label: str, set_: Setter) -> None:
    """Write the ratings values into `runtime` (envVars, additionalPolicies) through `set_`."""
    env_list = runtime.setdefault("envVars", [])
    entry = next((e for e in env_list if isinstance(e, dict) and e.get("name") == TABLE_ENV), None)
    if entry is None:
        entry = {"name": TABLE_ENV}
        env_list.append(entry)
    set_(entry, "value", values["feedback_table"], f"{label}.envVars[{TABLE_ENV}]")
    policies = with_policy(runtime.get("additionalPolicies"), POLICY_PATH, values["feedback_policy_arn"])
    set_(runtime, "additionalPolicies", policies, f"{label}.additionalPolicies")


def problems(runtime: dict[str, Any], env: Mapping[str, Any], label: str) -> list[str]:
    """What keeps the runtime from storing ratings although ``FEEDBACK_TABLE_NAME`` is set."""
    if not env.get(TABLE_ENV) or runtime.get("executionRoleArn"):
        return []  # no ratings, or an imported role that carries its own permissions
    policies = runtime.get("additionalPolicies")
    if isinstance(policies, list) and any(isinstance(p, str) and POLICY_PATH in p for p in policies):
        return []
    return [
        f"{label}: envVars sets {TABLE_ENV} but additionalPolicies has no policy under "
        "/customersupport-feedback/: the execution role cannot store ratings and every one fails with 503 "
        "(add the prerequisites' feedback_write_policy_arn)"
    ]
