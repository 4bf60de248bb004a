"""AgentCore Policy for the local gateway: the manifest's Cedar statements, evaluated with cedarpy.

The gateway builds one Cedar request per tool call, as the AgentCore developer guide documents it
("Policy scope", "Schema constraints", "Use an AgentCore Gateway with Policy"):

- principal ``AgentCore::OAuthUser::"<sub>"`` with attribute ``id`` = the token's ``sub`` and the
  token's claims as tags (``principal.hasTag("username")``, ``principal.getTag("scope")``);
- action ``AgentCore::Action::"<Target>___<tool>"``, a member of ``CallTool`` (itself in ``Mcp``);
- resource ``AgentCore::Gateway::"<gateway ARN>"``;
- context ``{"input": <the call's arguments>}``, typed by the tool's inputSchema.

The Cedar schema is generated from the gateway's tool schemas the way the guide describes it
(string -> String, integer -> Long, boolean -> Bool, number -> decimal, object -> Record whose
``required`` properties are required attributes, array -> Set). Requests are validated against it.
A JSON number for a ``number`` property becomes a Cedar ``decimal`` truncated to 4 places, as the
guide says ("numbers will be truncated to the Cedar representation"); one outside decimal's range
makes the request invalid (deny).

Decisions fail closed: a request that does not fit the schema (an unknown tool, an argument of the
wrong type or not in the schema, a missing required one) or a policy that errors is a deny.

``tools/list`` is a "meta action": a tool is listed when *some* input could be permitted. Here that
is Cedar partial evaluation with the context unknown: listed unless the answer is already Deny
(or the request cannot be built).

Every decision is one JSON line (``Decision.as_json``): kind, tool, principal sub, ALLOW/DENY, the
names of the determining policies. Never the token, never the arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import cedarpy

NAMESPACE = "AgentCore"
# Cedar tags hold one type; claims are strings, numbers (iat, exp, version) or lists (aud).
_JSON_TO_CEDAR = {"string": "String", "integer": "Long", "boolean": "Bool"}
# Cedar decimal: 4 fractional digits, the range of a 64-bit integer divided by 10^4.
_DECIMAL_PLACES = Decimal("0.0001")
_DECIMAL_MAX = Decimal("922337203685477.5807")
# The operator's refund limit, written once: in the statement of this policy of the manifest.
REFUND_LIMIT_POLICY = "ReturnsAboveTheLimitNeedAPerson"
_LIMIT = re.compile(r'refund_amount\.greaterThan\(decimal\("([0-9]+\.[0-9]{1,4})"\)\)')


@dataclass(frozen=True)
class Decision:
    """One authorization decision of the gateway's policy engine."""

    kind: str  # "call" or "list"
    tool: str
    principal: str
    decision: str  # "ALLOW" or "DENY"
    policies: tuple[str, ...]  # names of the policies that determined it (none: default deny)
    errors: int = 0  # evaluation or request errors (they deny)

    @property
    def allowed(self) -> bool:
        """Whether the call (or listing) is permitted."""
        return self.decision == "ALLOW"

    def as_json(self) -> str:
        """The decision-log line (no token, no arguments)."""
        return json.dumps({"event": "policy_decision", **asdict(self)}, sort_keys=True)


def _cedar_type(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type", "string")
    if kind == "object":
        required = set(schema.get("required", []))
        return {
            "type": "Record",
            "attributes": {
                name: {**_cedar_type(sub), "required": name in required}
                for name, sub in schema.get("properties", {}).items()
            },
        }
    if kind == "array":
        return {"type": "Set", "element": _cedar_type(schema.get("items", {"type": "string"}))}
    if kind == "number":
        return {"type": "Extension", "name": "decimal"}
    return {"type": _JSON_TO_CEDAR[kind]}


def cedar_input(value: Any, schema: dict[str, Any]) -> Any:
    """Tool arguments as Cedar JSON for `schema`: numbers of ``number`` properties as decimals."""
    kind = schema.get("type", "string")
    if kind == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        return {k: cedar_input(v, properties[k]) if k in properties else v for k, v in value.items()}
    if kind == "array" and isinstance(value, list):
        return [cedar_input(v, schema.get("items", {"type": "string"})) for v in value]
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = Decimal(repr(value)).quantize(_DECIMAL_PLACES, rounding=ROUND_DOWN)
        except InvalidOperation:  # inf, nan
            return value
        if abs(number) <= _DECIMAL_MAX:
            return {"__extn": {"fn": "decimal", "arg": str(number)}}
    return value  # left as is: a mismatch makes the request invalid, which denies


def refund_limit(spec: dict[str, Any]) -> Decimal:
    """The refund limit of the manifest's REFUND_LIMIT_POLICY (LookupError if absent or unreadable)."""
    for engine in spec.get("policyEngines", []):
        for policy in engine.get("policies", []):
            if policy.get("name") == REFUND_LIMIT_POLICY:
                match = _LIMIT.search(policy["statement"])
                if match:
                    return Decimal(match.group(1))
    raise LookupError(f"no readable {REFUND_LIMIT_POLICY} policy in the manifest")


def cedar_schema(tools: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The Cedar JSON schema of a gateway whose tools are (``<Target>___<tool>``, inputSchema)."""
    actions: dict[str, Any] = {"Mcp": {}, "CallTool": {"memberOf": [{"id": "Mcp"}]}}
    for name, input_schema in tools:
        actions[name] = {
            "memberOf": [{"id": "CallTool"}],
            "appliesTo": {
                "principalTypes": ["OAuthUser"],
                "resourceTypes": ["Gateway"],
                "context": {"type": "Record", "attributes": {"input": _cedar_type(input_schema)}},
            },
        }
    return {
        NAMESPACE: {
            "entityTypes": {
                "OAuthUser": {
                    "shape": {"type": "Record", "attributes": {"id": {"type": "String"}}},
                    "tags": {"type": "String"},
                },
                "Gateway": {},
            },
            "actions": actions,
        }
    }


def manifest_policies(spec: dict[str, Any], gateway: str) -> tuple[str, str] | None:
    """(mode, Cedar text with ``@id("<policy name>")``) of the engine attached to `gateway`.

    None when no engine is attached. Only ACTIVE policies count (LOG_ONLY ones decide nothing);
    a LookupError names an engine the manifest does not declare.
    """
    declared: dict[str, Any] = next(
        (g for g in spec.get("agentCoreGateways", []) if g.get("name") == gateway), {}
    )
    attached = declared.get("policyEngineConfiguration")
    if not attached:
        return None
    name = attached.get("policyEngineName")
    engine = next((e for e in spec.get("policyEngines", []) if e.get("name") == name), None)
    if engine is None:
        raise LookupError(f"policy engine {name!r} of gateway {gateway} is not declared")
    statements = [
        f'@id("{policy["name"]}")\n{policy["statement"]}'
        for policy in engine.get("policies", [])
        if policy.get("enforcementMode", "ACTIVE") == "ACTIVE"
    ]
    return str(attached.get("mode", "LOG_ONLY")), "\n\n".join(statements)


def _tag(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return json.dumps(value)


class PolicyEngine:
    """Cedar policies of one gateway, with its generated schema; decides calls and listings."""

    def __init__(
        self,
        policies: str,
        tools: Iterable[tuple[str, dict[str, Any]]],
        gateway_arn: str,
        sink: Callable[[Decision], None] | None = None,
        enforce: bool = True,
    ) -> None:
        tools = list(tools)
        self.input_schemas = dict(tools)
        self.gateway_arn = gateway_arn
        self.enforce = enforce  # LOG_ONLY: decide and log, but let everything through
        self.schema = cedarpy.Schema.from_json_str(json.dumps(cedar_schema(tools)))
        result = cedarpy.validate_policies(policies, self.schema)
        if not result.validation_passed:
            raise ValueError(f"the policies do not fit the gateway's schema: {result.errors}")
        self.policies = cedarpy.PolicySet.from_str(policies)
        self.sink = sink

    def _entities(self, claims: dict[str, Any]) -> list[dict[str, Any]]:
        sub = str(claims["sub"])
        return [
            {
                "uid": {"type": f"{NAMESPACE}::OAuthUser", "id": sub},
                "attrs": {"id": sub},
                "parents": [],
                "tags": {key: _tag(value) for key, value in claims.items()},
            },
            {"uid": {"type": f"{NAMESPACE}::Gateway", "id": self.gateway_arn}, "attrs": {}, "parents": []},
        ]

    def _request(self, claims: dict[str, Any], tool: str) -> dict[str, Any]:
        # Surface syntax (JSON string quoting is Cedar's): partial evaluation accepts only this form.
        return {
            "principal": f"{NAMESPACE}::OAuthUser::{json.dumps(str(claims['sub']))}",
            "action": f"{NAMESPACE}::Action::{json.dumps(tool)}",
            "resource": f"{NAMESPACE}::Gateway::{json.dumps(self.gateway_arn)}",
        }

    def _record(self, decision: Decision) -> Decision:
        if self.sink is not None:
            self.sink(decision)
        return decision

    def authorize_call(self, claims: dict[str, Any], tool: str, arguments: dict[str, Any]) -> Decision:
        """The decision for calling `tool` with `arguments` as the token with `claims`."""
        schema = self.input_schemas.get(tool, {"type": "object"})
        request = {**self._request(claims, tool), "context": {"input": cedar_input(arguments, schema)}}
        result = cedarpy.is_authorized(request, self.policies, self._entities(claims), self.schema)
        diagnostics = result.diagnostics
        names = diagnostics.id_annotations_by_reason
        return self._record(
            Decision(
                "call",
                tool,
                str(claims["sub"]),
                "ALLOW" if result.allowed else "DENY",
                tuple(sorted(names.get(reason, reason) for reason in diagnostics.reasons)),
                len(diagnostics.errors),
            )
        )

    def may_list(self, claims: dict[str, Any], tool: str) -> Decision:
        """Whether `tool` is listed: some input could be permitted (context left unknown)."""
        result = cedarpy.is_authorized_partial(
            self._request(claims, tool), self.policies, self._entities(claims), self.schema
        )
        state = result.decision
        listed = state == cedarpy.Decision.Allow or (
            state == cedarpy.Decision.NoDecision and bool(result.residuals)
        )
        errors = 1 if state == cedarpy.Decision.NoDecision and not result.residuals else 0
        return self._record(
            Decision("list", tool, str(claims["sub"]), "ALLOW" if listed else "DENY", (), errors)
        )
