"""A local stand-in for the AgentCore Gateway ``my-gateway-secure``.

An MCP streamable-HTTP server (the ``mcp`` package's low-level server) that:

- enforces the gateway's CUSTOM_JWT authorizer from ``agentcore/agentcore.json`` with the very
  code the agent uses (``auth`` in ``app/CustomerSupport``): missing token → 401, invalid,
  expired or not allowed → 403, before any MCP handling;
- lists the tools of every ``lambdaFunctionArn`` target from its ``toolSchemaFile``, named as
  the real Gateway names them: ``<TargetName>___<toolName>``;
- applies the manifest's Cedar policy engine with cedarpy (``policy.py``): ``tools/list`` shows
  what the caller could be permitted, a denied ``tools/call`` is a tool error and the target is
  not invoked (LOG_ONLY: logged, let through); a JSON line per decision (``--decision-log FILE``);
- calls the target's Lambda handler in-process with a Lambda-shaped event (the tool arguments)
  and context (tool name in ``client_context.custom``), bounded by a timeout; handler failures
  become MCP tool errors. AccountTools reads ORDERS_TABLE_NAME at ORDERS_ENDPOINT_URL (moto).

Run: ``python -m scripts.localdev.gateway [--port N]`` (AUTH_* variables override the manifest's
authorizer, as for the agent). The MCP endpoint is ``http://127.0.0.1:PORT/mcp``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from starlette.types import ASGIApp, Receive, Scope, Send

from scripts.localdev.lambda_targets import DEFAULT_HANDLERS, load_handler
from scripts.localdev.paths import REPO, agent_code_on_path
from scripts.localdev.policy import Decision, PolicyEngine, manifest_policies

agent_code_on_path()

from auth import AuthError, JwtVerifier  # noqa: E402 - needs the agent code on sys.path
from auth.asgi import identify_scope, send_auth_error  # noqa: E402
from settings import AuthSettings, load_auth_settings  # noqa: E402

logger = logging.getLogger("localdev.gateway")
decision_logger = logging.getLogger("localdev.gateway.decisions")

GATEWAY_NAME = "my-gateway-secure"
TOOL_NAME_SEPARATOR = "___"
# Lambda code for each target, as deployed by scripts/deploy/prerequisites.yaml.
LOCAL_GATEWAY_ARN = f"arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/{GATEWAY_NAME}-local"
DENIED = "Access denied: the gateway's policy does not permit this tool call."


def denied_text(policies: tuple[str, ...]) -> str:
    """The tool error of a denied call: DENIED, plus the determining (forbid) policies if any."""
    return f"{DENIED} Denied by policy: {', '.join(policies)}." if policies else DENIED


Handler = Callable[[Any, Any], Any]


@dataclass
class GatewayTool:
    """One tool of one target, with the Lambda handler that implements it."""

    target: str
    definition: dict[str, Any]
    handler: Handler

    @property
    def name(self) -> str:
        """The tool name as the Gateway lists it: <target>___<tool>."""
        return f"{self.target}{TOOL_NAME_SEPARATOR}{self.definition['name']}"


@dataclass
class CallRecord:
    """What a tool call carried (tests use it to prove which token reached the gateway)."""

    tool: str
    arguments: dict[str, Any]
    authorization: str = field(repr=False)


def manifest_tools(
    manifest: Path, gateway: str = GATEWAY_NAME, handlers: dict[str, Handler] | None = None
) -> list[GatewayTool]:
    """The tools the Gateway would expose for `gateway`'s lambdaFunctionArn targets."""
    spec = json.loads(manifest.read_text())
    project_root = manifest.parent.parent
    declared = next((g for g in spec.get("agentCoreGateways", []) if g.get("name") == gateway), None)
    if declared is None:
        raise ValueError(f"gateway {gateway!r} is not declared in {manifest}")
    tools = []
    for target in declared.get("targets", []):
        config = target.get("lambdaFunctionArn")
        if target.get("targetType") != "lambdaFunctionArn" or not config:
            continue
        name = target["name"]
        handler = (handlers or {}).get(name) or load_handler(DEFAULT_HANDLERS[name])
        for definition in json.loads((project_root / config["toolSchemaFile"]).read_text()):
            tools.append(GatewayTool(name, definition, handler))
    return tools


def lambda_context(tool: GatewayTool, timeout_seconds: float) -> SimpleNamespace:
    """A context shaped like the one Lambda passes when the Gateway invokes a target."""
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    return SimpleNamespace(
        function_name=f"local-{tool.target}",
        aws_request_id=str(uuid.uuid4()),
        client_context=SimpleNamespace(
            custom={
                "bedrockAgentCoreToolName": tool.name,
                "bedrockAgentCoreGatewayId": f"local-{GATEWAY_NAME}",
                "bedrockAgentCoreTargetId": f"local-{tool.target}",
                "bedrockAgentCoreMessageVersion": "1.0",
                "bedrockAgentCoreAwsRequestId": str(uuid.uuid4()),
                "bedrockAgentCoreMcpMessageId": str(uuid.uuid4()),
            },
            env={},
            client=None,
        ),
        get_remaining_time_in_millis=lambda: max(
            0, int((deadline - asyncio.get_running_loop().time()) * 1000)
        ),
    )


class LocalGateway:
    """The gateway's MCP server plus its JWT enforcement, as one ASGI app."""

    def __init__(
        self,
        auth: AuthSettings,
        tools: list[GatewayTool],
        timeout_seconds: float = 10.0,
        policy: PolicyEngine | None = None,
    ) -> None:
        self.verifier = JwtVerifier(auth)
        self.tools = {tool.name: tool for tool in tools}
        self.timeout_seconds = timeout_seconds
        self.policy = policy
        self.calls: list[CallRecord] = []  # every tools/call that passed the JWT check
        self.invocations: Counter[str] = Counter()  # Lambda invocations per target
        self.decisions: deque[Decision] = deque(maxlen=1000)  # the latest policy decisions
        self.requests: list[str] = []  # Authorization of every accepted HTTP request, in order
        self.url = ""  # the MCP endpoint, set by whoever serves the app
        self._server = Server(
            "local-agentcore-gateway", on_list_tools=self._list_tools, on_call_tool=self._call_tool
        )
        self._mcp_app = self._server.streamable_http_app(stateless_http=True, json_response=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Reject unauthenticated requests before MCP handling."""
        if scope["type"] == "http":
            try:
                identity = await identify_scope(self.verifier, scope)
            except AuthError as err:
                await send_auth_error(send, err, realm=GATEWAY_NAME)
                return
            # The verified claims, for the policy decisions of this request (never the token).
            scope.setdefault("state", {})["claims"] = identity.claims
            self.requests.append(_authorization(scope))
        await self._mcp_app(scope, receive, send)

    @property
    def app(self) -> ASGIApp:
        """The ASGI app: JWT check in front of the MCP endpoint."""
        return self

    def record(self, decision: Decision) -> None:
        """Keep and log one policy decision."""
        self.decisions.append(decision)
        decision_logger.info(decision.as_json())

    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        claims = _claims(ctx)
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=tool.name,
                    description=tool.definition.get("description", ""),
                    input_schema=tool.definition["inputSchema"],
                )
                for tool in self.tools.values()
                if self.policy is None
                or not self.policy.enforce
                or self.policy.may_list(claims, tool.name).allowed
            ]
        )

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = self.tools.get(params.name)
        if tool is None:
            return _tool_error(f"Unknown tool {params.name}")
        arguments = dict(params.arguments or {})
        request = getattr(ctx, "request", None)
        self.calls.append(CallRecord(tool.name, arguments, _authorization(request.scope) if request else ""))
        decision = self.policy.authorize_call(_claims(ctx), tool.name, arguments) if self.policy else None
        if decision is not None and not decision.allowed and self.policy and self.policy.enforce:
            # LOG_ONLY: decided and logged, not enforced. A forbid names itself (e.g. the refund limit).
            return _tool_error(denied_text(decision.policies))
        self.invocations[tool.target] += 1
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(tool.handler, arguments, lambda_context(tool, self.timeout_seconds)),
                timeout=self.timeout_seconds,
            )
        except asyncio.TimeoutError:
            logger.warning("tool %s timed out", tool.name)
            return _tool_error("The tool timed out")
        except Exception:
            logger.exception("tool %s failed", tool.name)
            return _tool_error("The tool failed")
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(result))])


def _authorization(scope: Scope) -> str:
    return next(
        (v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"authorization"), ""
    )


def _claims(ctx: Any) -> dict[str, Any]:
    request = getattr(ctx, "request", None)
    return dict(request.scope.get("state", {}).get("claims", {})) if request is not None else {}


def _tool_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


def build_gateway(
    env: dict[str, str] | None = None,
    manifest: Path | None = None,
    handlers: dict[str, Handler] | None = None,
) -> LocalGateway:
    """A gateway configured like the manifest's, with AUTH_* overrides from `env`."""
    env = dict(os.environ if env is None else env)
    manifest = manifest or REPO / "agentcore" / "agentcore.json"
    auth = load_auth_settings({**env, "AGENTCORE_MANIFEST": str(manifest)}, gateway=GATEWAY_NAME)
    from scripts.localdev.orders import account_tools_handler

    handlers = {**account_tools_handler(env), **(handlers or {})}
    tools = manifest_tools(manifest, GATEWAY_NAME, handlers)
    gateway = LocalGateway(auth, tools, float(env.get("GATEWAY_TOOL_TIMEOUT_SECONDS", "10")))
    attached = manifest_policies(json.loads(manifest.read_text()), GATEWAY_NAME)
    if attached is not None:
        definitions = [(tool.name, tool.definition["inputSchema"]) for tool in tools]
        gateway.policy = PolicyEngine(
            attached[1], definitions, LOCAL_GATEWAY_ARN, gateway.record, enforce=attached[0] == "ENFORCE"
        )
    return gateway


def main(argv: list[str] | None = None) -> None:
    """Serve the local gateway until interrupted."""
    from scripts.localdev.serving import serve_forever

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--ready-file", type=Path, help="write the URL here as JSON once serving")
    parser.add_argument("--decision-log", type=Path, help="append each policy decision here (JSON lines)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.decision_log:  # the bare JSON lines
        decision_logger.addHandler(logging.FileHandler(args.decision_log, encoding="utf-8"))
    gateway = build_gateway()

    def announce(port: int) -> None:
        url = f"http://127.0.0.1:{port}/mcp"
        print(f"gateway_url: {url}", flush=True)
        if args.ready_file:
            args.ready_file.write_text(json.dumps({"gateway_url": url}))

    serve_forever(gateway.app, args.port, announce)


if __name__ == "__main__":
    main()
