"""Helpers for scripts/localdev/rehearse-aws.sh (the offline rehearsal of the AWS deploy flow).

Subcommands (run from the repository root as ``python -m scripts.localdev.rehearsal ...``):

- ``copy-project DEST``: copy what configure and ``agentcore validate`` read (agentcore/ without the
  CDK app, the agent's code, the tool schemas) to DEST, so the rehearsal never writes the
  repository's own agentcore/agentcore.json.
- ``issuer-config --prefix P --out FILE``: read the machine app client that deploy-prerequisites
  created (ids from SSM, secret and scopes from Cognito) from the AWS endpoint in the environment
  and write a config for scripts/localdev/issuer.py to FILE, created with mode 600. The secret is
  never printed.
- ``check-token --token-file F --issuer URL --manifest M``: verify the token fetch-token wrote
  (signature by the issuer's JWKS, issuer, expiry) and that its ``client_id`` is one the configured
  manifest's runtime allows; print its length and those facts, never the token.

boto3 honours AWS_ENDPOINT_URL and the credential variables the rehearsal sets (a local emulator).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RUNTIME_NAME = "CustomerSupport"
JWKS_TIMEOUT_S = 10  # the issuer is local; anything slower is broken
# Not copied: virtual environments, caches and build output (large, and not read by configure).
IGNORED = shutil.ignore_patterns(".venv", "__pycache__", ".local", "*.zip", "uv.lock")


def copy_project(dest: Path) -> None:
    """Copy agentcore.json, aws-targets.json, the agent's code and the tool schemas to `dest`."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "agentcore").mkdir(parents=True)
    for name in ("agentcore.json", "aws-targets.json"):
        shutil.copy2(REPO / "agentcore" / name, dest / "agentcore" / name)
    shutil.copytree(REPO / "app" / RUNTIME_NAME, dest / "app" / RUNTIME_NAME, ignore=IGNORED)
    shutil.copytree(REPO / "tool_schemas", dest / "tool_schemas", ignore=IGNORED)


def _client(service: str) -> Any:
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.client(service, region_name=region)


def issuer_config(prefix: str) -> dict[str, Any]:
    """The issuer config for the deployed machine client (holds its secret: write it privately)."""
    names = [f"{prefix}{key}" for key in ("pool_id", "client_id")]
    found = _client("ssm").get_parameters(Names=names)["Parameters"]
    values = {p["Name"].removeprefix(prefix): p["Value"] for p in found}
    missing = sorted({"pool_id", "client_id"} - set(values))
    if missing:
        raise SystemExit(f"missing SSM parameter(s) under {prefix}: {', '.join(missing)}")
    described = _client("cognito-idp").describe_user_pool_client(
        UserPoolId=values["pool_id"], ClientId=values["client_id"]
    )["UserPoolClient"]
    if not described.get("ClientSecret"):
        raise SystemExit(f"app client {values['client_id']} has no secret (client_credentials needs one)")
    return {
        "pool_id": values["pool_id"],
        "clients": [
            {
                "client_id": values["client_id"],
                "client_secret": described["ClientSecret"],
                "allowed_scopes": described.get("AllowedOAuthScopes", []),
            }
        ],
    }


def write_private(path: Path, text: str) -> None:
    """Create `path` with mode 600 (fails if it exists, so no one else's file is reused)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def allowed_clients(manifest: Path) -> list[str]:
    """The runtime authorizer's allowedClients in a manifest."""
    spec = json.loads(manifest.read_text(encoding="utf-8"))
    runtime = next(r for r in spec["runtimes"] if r["name"] == RUNTIME_NAME)
    return list(runtime["authorizerConfiguration"]["customJwtAuthorizer"].get("allowedClients", []))


def check_token(token_file: Path, issuer: str, manifest: Path) -> str:
    """Verify the token against the issuer and the manifest; a one-line summary without the token."""
    import jwt

    token = token_file.read_text(encoding="utf-8").strip()
    jwks = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json", timeout=JWKS_TIMEOUT_S)
    try:
        claims = jwt.decode(
            token,
            jwks.get_signing_key_from_jwt(token).key,
            algorithms=["RS256"],
            issuer=issuer,
            options={"require": ["exp", "iss", "client_id"], "verify_aud": False},
        )
    except jwt.PyJWTError as exc:  # the message names the failed check, never the token
        raise SystemExit(f"the token does not verify: {type(exc).__name__}: {exc}") from None
    if claims["client_id"] not in allowed_clients(manifest):
        raise SystemExit(
            f"the token's client_id {claims['client_id']} is not in the manifest's allowedClients"
        )
    return (
        f"access token of {len(token)} characters (not shown); signature verified with the issuer's "
        f"JWKS; client_id is in the configured allowedClients; scope {claims.get('scope', '')!r}"
    )


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy-project")
    copy.add_argument("dest", type=Path)
    config = commands.add_parser("issuer-config")
    config.add_argument("--prefix", required=True)
    config.add_argument("--out", type=Path, required=True)
    check = commands.add_parser("check-token")
    check.add_argument("--token-file", type=Path, required=True)
    check.add_argument("--issuer", required=True)
    check.add_argument("--manifest", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "copy-project":
        copy_project(args.dest)
    elif args.command == "issuer-config":
        write_private(args.out, json.dumps(issuer_config(args.prefix)))
        print(f"issuer config written for the deployed machine client ({args.out}, mode 600)")
    else:
        print(check_token(args.token_file, args.issuer, args.manifest))


if __name__ == "__main__":
    main()
