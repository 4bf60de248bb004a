"""Write the web chat's config.json (issuer, client id, Managed Login domain, endpoint, scope).

The one writer of the file app/WebChat/src reads (``issuer``, ``clientId``, ``domain``, ``endpoint``,
``scope``): ``scripts/deploy/configure.sh`` calls it with the values it read from SSM (the local copy,
app/WebChat/config.json), ``scripts/deploy/deploy-frontdoor.sh`` with ``--output`` and the front door's
``/invocations`` URL (the copy in the site bucket). The endpoint is always a front door (the
deployed one, or one you host the chat behind): never the runtime's own URL, which has no per-user
limits and refuses customer tokens that did not pass the front door (docs/edge-code.md). Without
``--endpoint`` it stays empty and the script says so. The scope asks for the API scope
(``--api-scope``, default customersupport/invoke), which the front door requires.

Usage: python3 scripts/deploy/webchat_config.py (--project DIR | --output FILE) --discovery-url URL
                                         --client-id ID --domain URL [--endpoint URL] [--api-scope S]
Standard library only, Python 3.10+.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
RUNTIME_HOST = re.compile(r"bedrock-agentcore(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?(:443)?$")
CONFIG_PATH = Path("app") / "WebChat" / "config.json"
API_SCOPE = "customersupport/invoke"
SIGN_IN_SCOPES = "openid profile email"


def is_runtime_endpoint(endpoint: str) -> bool:
    """Whether `endpoint` is an AgentCore runtime's own URL (the data plane), not a front door."""
    return bool(RUNTIME_HOST.match(urlsplit(endpoint).netloc.lower()))


def web_config(
    discovery_url: str, client_id: str, domain: str, endpoint: str, api_scope: str = API_SCOPE
) -> dict[str, str]:
    """The app's config; ValueError on values that cannot be right."""
    if not (discovery_url.startswith("https://") and discovery_url.endswith(DISCOVERY_SUFFIX)):
        raise ValueError(f"discovery URL must be https and end in {DISCOVERY_SUFFIX}")
    if not domain.startswith("https://") or re.search(r"\s", domain):
        raise ValueError("the Managed Login domain must be an https URL")
    if endpoint and not endpoint.startswith("https://"):
        raise ValueError("the endpoint must be an https URL")
    if endpoint and is_runtime_endpoint(endpoint):
        raise ValueError(
            "the endpoint must be the front door's /invocations URL, not the runtime's: the runtime has no "
            "per-user limits and refuses customers who did not come through the front door"
        )
    if not client_id or re.search(r"[\s,]", client_id):
        raise ValueError("the web client id must not be empty or hold whitespace or commas")
    if not re.fullmatch(r"[A-Za-z0-9._/:-]+", api_scope):
        raise ValueError("the API scope must be one scope such as customersupport/invoke")
    return {
        "issuer": discovery_url.removesuffix(DISCOVERY_SUFFIX),
        "clientId": client_id,
        "domain": domain.rstrip("/"),
        "endpoint": endpoint,
        "scope": f"{SIGN_IN_SCOPES} {api_scope}",
    }


def main(argv: list[str] | None = None) -> int:
    """Write app/WebChat/config.json under --project, or the file --output names."""
    parser = argparse.ArgumentParser(prog="webchat_config.py", description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--project", type=Path)
    where.add_argument("--output", type=Path)
    parser.add_argument("--discovery-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--api-scope", default=API_SCOPE)
    args = parser.parse_args(argv)
    endpoint = args.endpoint
    try:
        config = web_config(args.discovery_url, args.client_id, args.domain, endpoint, args.api_scope)
    except ValueError as error:
        print(f"webchat config: error: {error}", file=sys.stderr)
        return 1
    path = args.output or args.project / CONFIG_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output or CONFIG_PATH} (web chat: issuer, client id, domain, endpoint)")
    if not endpoint:
        print("  endpoint: none yet; deploy-frontdoor.sh writes the site's, or pass --web-endpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
