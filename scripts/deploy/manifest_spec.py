"""The manifest as the project reads it: where it is, its names, and the env vars each deployment sets.

Standard library only, Python 3.10+ (configure.sh runs it with the system python3).
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path("agentcore") / "agentcore.json"

# What configure fills in.
RUNTIME_NAME = "CustomerSupport"
GATEWAY_NAME = "my-gateway-secure"
TARGET_NAME = "WarrantyCheck"
ACCOUNT_TARGET_NAME = "AccountTools"
CONFIGURE_KEYS = ("discovery_url", "client_id", "user_client_id", "lambda_arn", "account_lambda_arn")
# The argument account tools take (the caller's sub); the gateway's Cedar policy compares it.
CUSTOMER_ID = "customer_id"
# Which Lambda ARN value goes into which lambdaFunctionArn target of the gateway.
TARGET_ARN_KEYS = {TARGET_NAME: "lambda_arn", ACCOUNT_TARGET_NAME: "account_lambda_arn"}
# The web chat's client (its access tokens carry it in client_id); the edge grants' key, ledger and
# runtime policy (scripts/deploy/manifest_edge.py); the ratings table and its policy (manifest_feedback.py).
OPTIONAL_KEYS = (
    "web_client_id",
    "edge_secret_arn",
    "edge_nonce_table",
    "edge_policy_arn",
    "feedback_table",
    "feedback_policy_arn",
)

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
LAMBDA_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}"
    r"(?::(?:\$LATEST|[A-Za-z0-9_-]{1,128}))?"
)

# Gateway tool definitions: the ToolDefinition and SchemaDefinition shapes of the
# bedrock-agentcore-control API model (tests/test_manifest.py keeps these equal to botocore's copy).
TOOL_FIELDS = ("name", "description", "inputSchema", "outputSchema")
TOOL_REQUIRED = ("name", "description", "inputSchema")
SCHEMA_FIELDS = ("type", "properties", "required", "items", "description")
SCHEMA_REQUIRED = ("type",)
SCHEMA_TYPES = ("string", "number", "object", "array", "boolean", "integer")

# The agent's own JWT check reads its authorizer from these variables (settings.load_auth_settings).
AUTH_MODE_ENV = "AUTH_MODE"
AUTH_MODES_DEPLOYED = ("enforce", "trust-runtime")  # "off" serves anonymous callers: local use only
AUTH_DISCOVERY_ENV = "AUTH_DISCOVERY_URL"
AUTH_LIST_ENV = {
    "allowedClients": "AUTH_ALLOWED_CLIENTS",
    "allowedAudience": "AUTH_ALLOWED_AUDIENCE",
    "allowedScopes": "AUTH_ALLOWED_SCOPES",
}
# Names the deployment provides, as the agent's code spells them.
DEPLOYMENT_NAME = re.compile(r"AGENTCORE_GATEWAY_[A-Z0-9_]+_URL|MEMORY_[A-Z0-9_]+_ID")


# --------------------------------------------------------------------------------------- reading


def manifest_path(project_dir: str | os.PathLike[str]) -> Path:
    """agentcore/agentcore.json of the project rooted at `project_dir`."""
    return Path(project_dir) / MANIFEST


def load(project_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed manifest (key order kept)."""
    spec = json.loads(manifest_path(project_dir).read_text(encoding="utf-8"))
    if not isinstance(spec, dict):
        raise ValueError(f"{manifest_path(project_dir)} does not hold a JSON object")
    return spec


def _items(container: Any, key: str) -> list[dict[str, Any]]:
    value = container.get(key) if isinstance(container, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _jwt(resource: dict[str, Any]) -> dict[str, Any] | None:
    """The customJwtAuthorizer of a CUSTOM_JWT resource, else None."""
    if resource.get("authorizerType") != "CUSTOM_JWT":
        return None
    config = resource.get("authorizerConfiguration")
    jwt = config.get("customJwtAuthorizer") if isinstance(config, dict) else None
    return jwt if isinstance(jwt, dict) else None


def _list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _resolve(project: Path, location: str) -> Path:
    # As the agentcore CLI and CDK app do: relative to the project root (the parent of agentcore/).
    return Path(location) if Path(location).is_absolute() else project / location


def gateway_url_env(gateway_name: str) -> str:
    """The variable the deployment sets to a gateway's URL (see AgentCoreMcp in @aws/agentcore-cdk)."""
    return f"AGENTCORE_GATEWAY_{gateway_name.upper().replace('-', '_')}_URL"


def memory_id_env(memory_name: str) -> str:
    """The variable the deployment sets to a memory's id (see AgentCoreMemory in @aws/agentcore-cdk)."""
    return f"MEMORY_{memory_name.upper()}_ID"


def deployment_env_vars(spec: Mapping[str, Any]) -> dict[str, str]:
    """Every variable `agentcore deploy` (and `agentcore dev`) gives the runtimes, with what it holds."""
    names: dict[str, str] = {}
    for gateway in _items(spec, "agentCoreGateways"):
        name = str(gateway.get("name", ""))
        names[gateway_url_env(name)] = f"the URL of gateway {name}"
        names[gateway_url_env(name).removesuffix("_URL") + "_AUTH_TYPE"] = f"the auth type of gateway {name}"
    for memory in _items(spec, "memories"):
        name = str(memory.get("name", ""))
        names[memory_id_env(name)] = f"the id of memory {name}"
    return names


def agent_env_reads(code_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Deployment-provided names the code in `code_dir` reads: {variable: "file: CONSTANT"}.

    Found as module-level string constants (``GATEWAY_URL_ENV = "AGENTCORE_GATEWAY_..._URL"``) in the
    code's .py files, outside hidden directories such as .venv.
    """
    root = Path(code_dir)
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts[:-1]):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (OSError, UnicodeDecodeError, SyntaxError):
            continue
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            value = getattr(node, "value", None)
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                continue
            if not DEPLOYMENT_NAME.fullmatch(value.value):
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    found.setdefault(value.value, f"{relative.as_posix()}: {target.id}")
    return found
