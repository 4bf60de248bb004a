"""The manifest's Cedar policies, decided by cedarpy as a table (no gateway, no Lambda, no agent).

The principals are the claims the local issuer really puts in a user's and a machine's access
token (Cognito's shapes: a user token has ``username``, a client-credentials token does not).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import jwt
import pytest

from scripts.localdev.gateway import GATEWAY_NAME, manifest_tools
from scripts.localdev.issuer import LocalIssuer
from scripts.localdev.policy import Decision, PolicyEngine, cedar_schema, manifest_policies, refund_limit
from scripts.localdev.pool import Client, IssuerConfig, User
from tests.support.processes import REPO

MANIFEST = REPO / "agentcore" / "agentcore.json"
SPEC = json.loads(MANIFEST.read_text())
ACCOUNT_TOOLS = (
    "AccountTools___list_my_orders",
    "AccountTools___get_order",
    "AccountTools___check_order_warranty",
    "AccountTools___start_return",
    "AccountTools___list_my_returns",
    "AccountTools___create_support_ticket",
)
CATALOG = "WarrantyCheck___check_warranty"
LOCAL_GATEWAY_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/my-gateway-secure-local"


def _claims() -> dict[str, dict[str, Any]]:
    issuer = LocalIssuer(
        IssuerConfig(
            clients=[Client("machine", "secret", ["customersupport/invoke"]), Client("web", user_login=True)],
            users=[User("alice", "pw", "sub-alice"), User("bob", "pw", "sub-bob")],
        )
    )
    alice, bob = (issuer.config.user(name) for name in ("alice", "bob"))
    assert alice is not None and bob is not None
    tokens = {
        "alice": issuer.user_tokens(alice, "web")["access"],
        "bob": issuer.user_tokens(bob, "web")["access"],
        "machine": issuer.client_credentials_token("machine", ["customersupport/invoke"]),
    }
    return {name: jwt.decode(token, options={"verify_signature": False}) for name, token in tokens.items()}


CLAIMS = _claims()


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    _, statements = manifest_policies(SPEC, GATEWAY_NAME) or ("", "")
    tools = [(t.name, t.definition["inputSchema"]) for t in manifest_tools(MANIFEST, handlers=_no_handlers())]
    return PolicyEngine(statements, tools, LOCAL_GATEWAY_ARN)


def _no_handlers() -> dict[str, Any]:
    return {"WarrantyCheck": lambda e, c: None, "AccountTools": lambda e, c: None}


def test_the_issuer_tells_users_from_machines_by_the_username_claim() -> None:
    assert CLAIMS["alice"]["username"] == "alice" and CLAIMS["alice"]["sub"] == "sub-alice"
    assert "username" not in CLAIMS["machine"] and CLAIMS["machine"]["sub"] == "machine"


def test_the_gateway_is_attached_to_the_engine_in_enforce_mode() -> None:
    (gateway,) = SPEC["agentCoreGateways"]
    assert gateway["policyEngineConfiguration"] == {
        "policyEngineName": "CustomerSupportPolicies",
        "mode": "ENFORCE",
    }
    (engine,) = SPEC["policyEngines"]
    assert [p["name"] for p in engine["policies"]] == [
        "CatalogToolsForSignedInCallers",
        "AccountToolsOnlyForTheirOwner",
        "NoAccountToolsForMachineTokens",
        "ReturnsAboveTheLimitNeedAPerson",
    ]
    assert {p["enforcementMode"] for p in engine["policies"]} == {"ACTIVE"}


ORDER = {"order_id": "ORD-4001"}
CALLS = [
    # who, tool, arguments, decision, determining policies
    (
        "alice",
        "AccountTools___list_my_orders",
        {"customer_id": "sub-alice"},
        "ALLOW",
        ("AccountToolsOnlyForTheirOwner",),
    ),
    (
        "alice",
        "AccountTools___get_order",
        {"customer_id": "sub-alice", **ORDER},
        "ALLOW",
        ("AccountToolsOnlyForTheirOwner",),
    ),
    (
        "alice",
        "AccountTools___check_order_warranty",
        {"customer_id": "sub-alice", **ORDER, "line": 2},
        "ALLOW",
        ("AccountToolsOnlyForTheirOwner",),
    ),
    # A's token with B's id: no permit applies.
    ("alice", "AccountTools___list_my_orders", {"customer_id": "sub-bob"}, "DENY", ()),
    ("alice", "AccountTools___get_order", {"customer_id": "sub-bob", **ORDER}, "DENY", ()),
    ("alice", "AccountTools___check_order_warranty", {"customer_id": "sub-bob", **ORDER}, "DENY", ()),
    (
        "bob",
        "AccountTools___get_order",
        {"customer_id": "sub-bob", **ORDER},
        "ALLOW",
        ("AccountToolsOnlyForTheirOwner",),
    ),
    # Near misses of the id are other ids.
    ("alice", "AccountTools___list_my_orders", {"customer_id": "SUB-ALICE"}, "DENY", ()),
    ("alice", "AccountTools___list_my_orders", {"customer_id": "sub-alice "}, "DENY", ()),
    ("alice", "AccountTools___list_my_orders", {"customer_id": ""}, "DENY", ()),
    # Fail closed: arguments that do not fit the tool's schema.
    ("alice", "AccountTools___list_my_orders", {}, "DENY", ()),
    ("alice", "AccountTools___list_my_orders", {"customer_id": ["sub-alice"]}, "DENY", ()),
    ("alice", "AccountTools___list_my_orders", {"customer_id": "sub-alice", "extra": 1}, "DENY", ()),
    (
        "alice",
        "AccountTools___check_order_warranty",
        {"customer_id": "sub-alice", **ORDER, "line": "2"},
        "DENY",
        (),
    ),
    # A machine token: denied by the forbid even with its own sub as the customer id.
    (
        "machine",
        "AccountTools___list_my_orders",
        {"customer_id": "machine"},
        "DENY",
        ("NoAccountToolsForMachineTokens",),
    ),
    (
        "machine",
        "AccountTools___get_order",
        {"customer_id": "sub-alice", **ORDER},
        "DENY",
        ("NoAccountToolsForMachineTokens",),
    ),
    # The catalog: any signed-in principal.
    ("alice", CATALOG, {"product_id": "PROD-001"}, "ALLOW", ("CatalogToolsForSignedInCallers",)),
    (
        "machine",
        CATALOG,
        {"product_id": "PROD-001", "purchase_date": "2025-01-01"},
        "ALLOW",
        ("CatalogToolsForSignedInCallers",),
    ),
    # Everything else: default deny.
    ("alice", "AccountTools___delete_order", {"customer_id": "sub-alice"}, "DENY", ()),
    ("alice", "Other___tool", {}, "DENY", ()),
]

OWNER, MACHINES, LIMIT = (
    "AccountToolsOnlyForTheirOwner",
    "NoAccountToolsForMachineTokens",
    "ReturnsAboveTheLimitNeedAPerson",
)
RETURN = "AccountTools___start_return"
A_RETURN = {"customer_id": "sub-alice", "order_id": "ORD-3001", "line": 1}
WRITES = [
    # Returns: the owner rule, then the operator's limit on the refund (500.00; boundary included).
    ("alice", RETURN, {**A_RETURN, "refund_amount": 249.99}, "ALLOW", (OWNER,)),
    ("alice", RETURN, {**A_RETURN, "quantity": 2, "refund_amount": 500}, "ALLOW", (OWNER,)),
    ("alice", RETURN, {**A_RETURN, "refund_amount": 500.00}, "ALLOW", (OWNER,)),
    ("alice", RETURN, {**A_RETURN, "refund_amount": 500.01}, "DENY", (LIMIT,)),
    ("alice", RETURN, {**A_RETURN, "refund_amount": 500.0001}, "DENY", (LIMIT,)),
    ("alice", RETURN, {**A_RETURN, "refund_amount": 749.97}, "DENY", (LIMIT,)),
    # Cedar keeps 4 decimals: 500.00009 is 500.0000 to the policy (the Lambda refuses non-cent amounts).
    ("alice", RETURN, {**A_RETURN, "refund_amount": 500.00009}, "ALLOW", (OWNER,)),
    ("alice", RETURN, {**A_RETURN, "refund_amount": 1e300}, "DENY", ()),  # beyond decimal: invalid request
    ("alice", RETURN, {**A_RETURN, "refund_amount": "100"}, "DENY", ()),  # a string is not a number
    ("alice", RETURN, A_RETURN, "DENY", ()),  # refund_amount is required
    ("alice", RETURN, {**A_RETURN, "refund_amount": 10, "approved": True}, "DENY", ()),  # not in the schema
    (
        "alice",
        RETURN,
        {**A_RETURN, "refund_amount": 10, "session_id": "s", "trace_id": "t"},
        "ALLOW",
        (OWNER,),
    ),
    # Another customer's order: the owner rule does not apply, whatever the amount.
    ("alice", RETURN, {**A_RETURN, "customer_id": "sub-bob", "refund_amount": 10}, "DENY", ()),
    ("alice", RETURN, {**A_RETURN, "customer_id": "sub-bob", "refund_amount": 900}, "DENY", (LIMIT,)),
    # Machine tokens: never, and over the limit both forbids say so.
    ("machine", RETURN, {**A_RETURN, "customer_id": "machine", "refund_amount": 10}, "DENY", (MACHINES,)),
    ("machine", RETURN, {**A_RETURN, "refund_amount": 900}, "DENY", (MACHINES, LIMIT)),
    # Listing returns and tickets: the owner rule.
    ("alice", "AccountTools___list_my_returns", {"customer_id": "sub-alice"}, "ALLOW", (OWNER,)),
    ("alice", "AccountTools___list_my_returns", {"customer_id": "sub-bob"}, "DENY", ()),
    ("machine", "AccountTools___list_my_returns", {"customer_id": "machine"}, "DENY", (MACHINES,)),
    (
        "alice",
        "AccountTools___create_support_ticket",
        {"customer_id": "sub-alice", "summary": "s"},
        "ALLOW",
        (OWNER,),
    ),
    (
        "alice",
        "AccountTools___create_support_ticket",
        {
            "customer_id": "sub-alice",
            "summary": "s",
            "order_id": "ORD-3001",
            "session_id": "s",
            "trace_id": "t",
        },
        "ALLOW",
        (OWNER,),
    ),
    ("alice", "AccountTools___create_support_ticket", {"customer_id": "sub-bob", "summary": "s"}, "DENY", ()),
    ("alice", "AccountTools___create_support_ticket", {"customer_id": "sub-alice"}, "DENY", ()),
    (
        "machine",
        "AccountTools___create_support_ticket",
        {"customer_id": "machine", "summary": "s"},
        "DENY",
        (MACHINES,),
    ),
]
CALLS += WRITES


@pytest.mark.parametrize(("who", "tool", "arguments", "expected", "policies"), CALLS)
def test_call_decisions(
    engine: PolicyEngine,
    who: str,
    tool: str,
    arguments: dict[str, Any],
    expected: str,
    policies: tuple[str, ...],
) -> None:
    decision = engine.authorize_call(CLAIMS[who], tool, arguments)
    assert (decision.decision, decision.policies) == (expected, policies)


LISTED = {
    "alice": [CATALOG, *ACCOUNT_TOOLS],
    "bob": [CATALOG, *ACCOUNT_TOOLS],
    "machine": [CATALOG],
}


@pytest.mark.parametrize("who", sorted(LISTED))
def test_listing_shows_what_some_input_could_be_permitted(engine: PolicyEngine, who: str) -> None:
    tools = [CATALOG, *ACCOUNT_TOOLS, "Other___tool"]
    assert [t for t in tools if engine.may_list(CLAIMS[who], t).allowed] == LISTED[who]


def test_a_token_lacking_the_username_claim_is_a_machine_whatever_its_sub() -> None:
    # A client whose id equals a customer's sub still gets no account tool.
    _, statements = manifest_policies(SPEC, GATEWAY_NAME) or ("", "")
    tools = [(t.name, t.definition["inputSchema"]) for t in manifest_tools(MANIFEST, handlers=_no_handlers())]
    engine = PolicyEngine(statements, tools, LOCAL_GATEWAY_ARN)
    impostor = {**CLAIMS["machine"], "sub": "sub-alice", "client_id": "sub-alice"}
    assert not engine.authorize_call(impostor, ACCOUNT_TOOLS[0], {"customer_id": "sub-alice"}).allowed
    assert not engine.may_list(impostor, ACCOUNT_TOOLS[0]).allowed


def test_the_policies_fit_the_schema_generated_from_the_tool_schemas() -> None:
    import cedarpy

    _, statements = manifest_policies(SPEC, GATEWAY_NAME) or ("", "")
    tools = [(t.name, t.definition["inputSchema"]) for t in manifest_tools(MANIFEST, handlers=_no_handlers())]
    schema = cedar_schema(tools)
    line = schema["AgentCore"]["actions"]["AccountTools___check_order_warranty"]["appliesTo"]["context"]
    assert line["attributes"]["input"]["attributes"]["line"] == {"type": "Long", "required": False}
    assert cedarpy.validate_policies(statements, json.dumps(schema)).validation_passed
    # A typo in an attribute is caught by the same validation (the engine refuses to start).
    broken = statements.replace("context.input.customer_id", "context.input.customerid")
    with pytest.raises(ValueError, match="do not fit"):
        PolicyEngine(broken, tools, LOCAL_GATEWAY_ARN)


def test_log_only_policies_decide_nothing_and_the_engines_mode_is_read() -> None:
    spec = json.loads(MANIFEST.read_text())
    spec["policyEngines"][0]["policies"][1]["enforcementMode"] = "LOG_ONLY"
    mode, statements = manifest_policies(spec, GATEWAY_NAME) or ("", "")
    assert mode == "ENFORCE" and "AccountToolsOnlyForTheirOwner" not in statements
    spec["agentCoreGateways"][0]["policyEngineConfiguration"]["mode"] = "LOG_ONLY"
    assert (manifest_policies(spec, GATEWAY_NAME) or ("",))[0] == "LOG_ONLY"
    del spec["agentCoreGateways"][0]["policyEngineConfiguration"]
    assert manifest_policies(spec, GATEWAY_NAME) is None
    spec["agentCoreGateways"][0]["policyEngineConfiguration"] = {
        "policyEngineName": "Nope",
        "mode": "ENFORCE",
    }
    with pytest.raises(LookupError, match="Nope"):
        manifest_policies(spec, GATEWAY_NAME)


def test_a_decision_line_carries_no_token_and_no_arguments(engine: PolicyEngine) -> None:
    seen: list[Decision] = []
    engine.sink = seen.append
    try:
        engine.authorize_call(
            CLAIMS["alice"], ACCOUNT_TOOLS[1], {"customer_id": "sub-bob", "order_id": "ORD-4001"}
        )
    finally:
        engine.sink = None
    (decision,) = seen
    line = json.loads(decision.as_json())
    assert line == {
        "event": "policy_decision",
        "kind": "call",
        "tool": ACCOUNT_TOOLS[1],
        "principal": "sub-alice",
        "decision": "DENY",
        "policies": [],
        "errors": 0,
    }


def test_the_refund_limit_is_written_once_and_the_docs_quote_it() -> None:
    # The statement is the one place the operator sets the limit; the docs quote it verbatim.
    limit = refund_limit(SPEC)
    assert limit == Decimal("500.00")
    (statement,) = [
        p["statement"]
        for p in SPEC["policyEngines"][0]["policies"]
        if p["name"] == "ReturnsAboveTheLimitNeedAPerson"
    ]
    docs = (REPO / "docs" / "account-tools.md").read_text()
    assert statement in docs and f"{limit:.2f}" in docs


@pytest.mark.parametrize(("offset", "expected"), [("0", "ALLOW"), ("0.01", "DENY"), ("-0.01", "ALLOW")])
def test_the_limit_boundary_follows_the_statement(engine: PolicyEngine, offset: str, expected: str) -> None:
    amount = float(refund_limit(SPEC) + Decimal(offset))
    assert (
        engine.authorize_call(CLAIMS["alice"], RETURN, {**A_RETURN, "refund_amount": amount}).decision
        == expected
    )
