#!/usr/bin/env python3
"""Checks and fills in agentcore/agentcore.json where the agentcore CLI does not.

``agentcore validate`` checks the manifest's JSON schema only. ``check`` adds what this project
depends on beyond the schema:

- every runtime's ``codeLocation`` directory and (CodeZip) ``entrypoint`` file exist;
- every local ``toolSchemaFile`` exists and holds a Gateway tool-definition array (the
  ``ToolDefinition``/``SchemaDefinition`` shapes of the bedrock-agentcore-control API);
- every Lambda target ARN looks like a Lambda function ARN;
- a tool that takes a ``customer_id`` (an account tool) requires it as a string, and its gateway is
  attached to a Cedar policy engine in ENFORCE mode;
- every runtime is CUSTOM_JWT and allow-lists the ``Authorization`` header (the agent forwards the
  caller's token to the gateway and reads its identity from it);
- every gateway is CUSTOM_JWT, trusts the same issuer (``discoveryUrl``) as the runtime, and allows
  every client/audience/scope the runtime allows, else forwarded tokens are rejected;
- the runtime's ``AUTH_*`` envVars (the agent's own JWT check in the deployed bundle, which holds
  no manifest) equal its authorizer, and envVars do not set what the deployment sets;
- edge grants (``EDGE_*``, scripts/deploy/manifest_edge.py): no literal key, a nonce table with the
  key, the grant header allow-listed, exempt clients among the allowed ones, a role that may read;
- answer ratings (``FEEDBACK_TABLE_NAME``, scripts/deploy/manifest_feedback.py): the ratings policy in
  ``additionalPolicies`` (or an imported execution role);
- every ``AGENTCORE_GATEWAY_*``/``MEMORY_*_ID`` name the agent's code reads (module-level string
  constants) is one the deployment sets for the manifest's gateways and memories.

``configure`` writes the deployment-specific values (issuer, allowed clients, Lambda ARNs)
into the runtime and gateway authorizers, the runtime's ``AUTH_*`` envVars and the WarrantyCheck
and AccountTools targets, and, given the edge values, the runtime's ``EDGE_*`` envVars and its
edge policy in ``additionalPolicies``, and, given the ratings values, ``FEEDBACK_TABLE_NAME`` and
the ratings policy, changing nothing else. It keeps key order and the CLI's formatting
(``JSON.stringify(spec, null, 2)``), writes only when something changes, and replaces the file
atomically.

Usage:
  python3 scripts/deploy/manifest.py check [--project DIR]
  python3 scripts/deploy/manifest.py configure --discovery-url URL --client-id ID --user-client-id ID
                                        --lambda-arn ARN --account-lambda-arn ARN
                                        [--web-client-id ID] [--edge-secret-arn ARN
                                        --edge-nonce-table NAME --edge-policy-arn ARN]
                                        [--feedback-table NAME --feedback-policy-arn ARN] [--project DIR]

DIR is the project root (the directory holding agentcore/); the default is this repository.
Standard library only, Python 3.10+.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

if __package__ in (None, ""):  # run as a file (configure.sh): make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.deploy.manifest_check import (
    check,
    tool_schema_problems,
)
from scripts.deploy.manifest_configure import (
    apply,
    configure,
    configure_changes,
    render,
)
from scripts.deploy.manifest_spec import (
    AUTH_LIST_ENV,
    CONFIGURE_KEYS,
    OPTIONAL_KEYS,
    PROJECT_ROOT,
    SCHEMA_FIELDS,
    SCHEMA_REQUIRED,
    SCHEMA_TYPES,
    TOOL_FIELDS,
    TOOL_REQUIRED,
    agent_env_reads,
    deployment_env_vars,
    gateway_url_env,
    load,
    manifest_path,
    memory_id_env,
)

# What tests and other tools use through this module.
__all__ = [
    "AUTH_LIST_ENV",
    "CONFIGURE_KEYS",
    "OPTIONAL_KEYS",
    "PROJECT_ROOT",
    "SCHEMA_FIELDS",
    "SCHEMA_REQUIRED",
    "SCHEMA_TYPES",
    "TOOL_FIELDS",
    "TOOL_REQUIRED",
    "agent_env_reads",
    "apply",
    "check",
    "configure",
    "configure_changes",
    "deployment_env_vars",
    "gateway_url_env",
    "load",
    "manifest_path",
    "memory_id_env",
    "render",
    "tool_schema_problems",
]


def main(argv: Iterable[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="manifest.py", description="Check or configure agentcore/agentcore.json beyond its schema."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check_cmd = commands.add_parser(
        "check", help="report problems agentcore validate does not (exit 1 if any)"
    )
    configure_cmd = commands.add_parser("configure", help="write deployment values into the manifest")
    for sub in (check_cmd, configure_cmd):
        sub.add_argument("--project", default=str(PROJECT_ROOT), help="project root (holds agentcore/)")
    configure_cmd.add_argument("--discovery-url", required=True, help="OIDC discovery URL of the user pool")
    configure_cmd.add_argument("--client-id", required=True, help="machine (client_credentials) client id")
    configure_cmd.add_argument("--user-client-id", required=True, help="user-login client id")
    configure_cmd.add_argument("--lambda-arn", required=True, help="ARN of the WarrantyCheck Lambda")
    configure_cmd.add_argument("--account-lambda-arn", required=True, help="ARN of the AccountTools Lambda")
    configure_cmd.add_argument("--web-client-id", help="web chat client id (also allowed, if given)")
    configure_cmd.add_argument("--edge-secret-arn", help="edge-grant key (Secrets Manager ARN)")
    configure_cmd.add_argument("--edge-nonce-table", help="edge-grant nonce ledger (DynamoDB table)")
    configure_cmd.add_argument("--edge-policy-arn", help="the runtime's edge-grant managed policy ARN")
    configure_cmd.add_argument("--feedback-table", help="answer ratings table (FEEDBACK_TABLE_NAME)")
    configure_cmd.add_argument("--feedback-policy-arn", help="the runtime's ratings managed policy ARN")
    args = parser.parse_args(list(argv) if argv is not None else None)
    path = manifest_path(args.project)

    if args.command == "check":
        problems = check(args.project)
        if problems:
            print(f"manifest check: {len(problems)} problem(s) in {path}:", file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
            return 1
        print(f"manifest check: OK ({path})")
        return 0

    values = {key: getattr(args, key) for key in (*CONFIGURE_KEYS, *OPTIONAL_KEYS) if getattr(args, key)}
    try:
        changes = configure_changes(args.project, values)
    except (OSError, ValueError, LookupError) as error:
        print(f"manifest configure: error: {error}", file=sys.stderr)
        return 1
    if changes:
        print(f"updated {path}:")
        for change in changes:
            print(f"  {change}")
    else:
        print(f"unchanged: {path} already holds these values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
