"""Issue 18 end to end: the agent process, the local gateway (Cedar ENFORCE), the Lambda on moto.

The two halves of issue 18 meet here: the agent's confirmation protocol (confirm.py, the web
chat's payloads) and the AccountTools write tools behind the gateway's policies. The agent runs
as `agentcore dev` runs it (its own process, offline scripted model), the gateway is the local one
with the manifest's policies enforced and the real AccountTools handler, the tables are on moto;
every assertion on what was written reads the tables themselves.

Alice (sub-alice) has a delivered keyboard (ORD-3201, 129.99, returnable) and three smart watches
(ORD-3202, 749.97, above the refund limit); Bob has ORD-4201. Fresh tables for this module (the
shared orders table stays as other tests expect it).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import confirm
import pytest
from boto3.dynamodb.conditions import Key

from scripts.localdev.policy import REFUND_LIMIT_POLICY
from service import SYSTEM_PROMPT
from tests.support.stack import ISSUER_SUBS, USER_CLIENT, AgentServer, auth_env, start_agent
from tests.test_account_tools import CODE

if str(CODE) not in sys.path:  # the Lambda's code folder, as tests.test_account_tools puts it
    sys.path.insert(0, str(CODE))
from write_tools import max_open_tickets

TODAY = datetime.now(timezone.utc).date()
RETURN = "Please start a return for ORD-3201 line 1, refund $129.99"
OVER_LIMIT = "Please start a return for ORD-3202 line 1, refund $749.97"
BOBS = "Please start a return for ORD-4201 line 1, refund $129.99"
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


def _delivered(order_id: str, product: str, quantity: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "purchase_date": (TODAY - timedelta(days=5)).isoformat(),
        "status": "delivered",
        "lines": [{"product_id": product, "quantity": quantity}],
    }


@dataclass
class Stack:
    agent: AgentServer
    gateway: Any
    traces: Path  # the agent's TRACE_FILE: one line per turn, with its trace id
    tables: dict[str, Any]  # "requests", "audit": boto3 Table resources on moto
    tokens: dict[str, str]

    def turn(self, user: str, session: str, body: dict[str, Any]) -> Turn:
        """One /invocations request of `user` in `session`; its events."""
        import httpx

        response = httpx.post(
            f"{self.agent.url}/invocations",
            json=body,
            headers={"Authorization": f"Bearer {self.tokens[user]}", SESSION_HEADER: session},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
        return Turn(events)

    def ask(self, user: str, session: str, prompt: str) -> Turn:
        return self.turn(user, session, {"prompt": prompt, "can_confirm": True})

    def decide(self, user: str, session: str, ident: str, approve: bool) -> Turn:
        return self.turn(user, session, {"confirm": {"id": ident, "approve": approve}})

    def last_turn(self) -> dict[str, Any]:
        """The latest finished turn's line in the agent's local trace file."""
        turn: dict[str, Any] = json.loads(self.traces.read_text().splitlines()[-1])
        return turn

    def items(self, table: str, user: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.tables[table].query(
            KeyConditionExpression=Key("customer_id").eq(ISSUER_SUBS[user])
        )["Items"]
        return found


@dataclass
class Turn:
    events: list[Any]

    @property
    def text(self) -> str:
        return "".join(e for e in self.events if isinstance(e, str))

    @property
    def confirmation(self) -> dict[str, Any] | None:
        found = [e["confirmation"] for e in self.events if isinstance(e, dict) and "confirmation" in e]
        assert len(found) <= 1, self.events
        return found[0] if found else None

    @property
    def outcome(self) -> str | None:
        found = [e["confirmation_outcome"]["outcome"] for e in self.events if "confirmation_outcome" in e]
        return found[0] if found else None


@pytest.fixture(scope="module")
def stack(issuer: Any, moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from scripts.localdev.gateway import build_gateway
    from scripts.localdev.orders import LOCAL_CREDENTIALS, REGION, companion_names, create_table, local_store
    from scripts.localdev.serving import BackgroundServer

    name = f"orders-{uuid.uuid4().hex[:8]}"
    create_table(moto_server, name)
    store = local_store(moto_server, name)
    for sub, order in [
        ("sub-alice", _delivered("ORD-3201", "PROD-005", 1)),  # a keyboard, 129.99
        ("sub-alice", _delivered("ORD-3202", "PROD-002", 3)),  # three smart watches, 749.97
        ("sub-bob", _delivered("ORD-4201", "PROD-005", 1)),
    ]:
        assert store.put_new({"customer_id": sub, **order})
    env = {**auth_env(issuer), "ORDERS_TABLE_NAME": name, "ORDERS_ENDPOINT_URL": moto_server}
    resource = boto3.resource("dynamodb", endpoint_url=moto_server, region_name=REGION, **LOCAL_CREDENTIALS)
    names = companion_names(name)
    tables = {
        "requests": resource.Table(names["REQUESTS_TABLE_NAME"]),
        "audit": resource.Table(names["AUDIT_TABLE_NAME"]),
    }
    tokens = {u: issuer.user_tokens(issuer.config.user(u), USER_CLIENT)["access"] for u in ISSUER_SUBS}
    gateway = build_gateway(env)
    with BackgroundServer(gateway.app) as server:
        gateway.url = f"{server.url}/mcp"
        workdir = tmp_path_factory.mktemp("returns-agent")
        traces = workdir / "traces.jsonl"
        agent = start_agent(issuer, gateway, workdir, TRACE_FILE=str(traces))
        try:
            yield Stack(agent, gateway, traces, tables, tokens)
        finally:
            agent.stop()


def _session() -> str:
    return f"returns-{uuid.uuid4()}"


@pytest.mark.integration
def test_a_confirmed_return_is_written_once_with_its_audit(stack: Stack) -> None:
    session = _session()
    asked = stack.ask("alice", session, RETURN)
    request = asked.confirmation
    assert request is not None, asked.events
    assert request["action"] == {
        "tool": "start_return",
        "order_id": "ORD-3201",
        "line": 1,
        "refund_amount": 129.99,
        "refund_path": "original payment method",
    }
    assert stack.items("requests", "alice") == [] and stack.items("audit", "alice") == []

    done = stack.decide("alice", session, request["id"], True)
    assert done.outcome == "approved", done.events
    [stored] = stack.items("requests", "alice")
    rma = stored["return_id"]
    assert rma.startswith("RMA-") and rma in done.text, done.text
    assert stored["order_id"] == "ORD-3201" and stored["status"] == "authorized"
    [audit] = stack.items("audit", "alice")
    assert audit["result_id"] == rma and audit["tool"] == "start_return"
    assert audit["customer_id"] == "sub-alice" and audit["session_id"] == session
    assert audit["trace_id"] == stack.last_turn()["trace_id"] and int(
        audit["trace_id"], 16
    )  # the approving turn
    assert stack.tokens["alice"] not in json.dumps(audit, default=str)
    assert stack.last_turn()["action"] == "executed"

    # Asking again: a new confirmation, and once approved the same return (nothing new written).
    again = stack.ask("alice", session, RETURN)
    assert again.confirmation is not None
    repeat = stack.decide("alice", session, again.confirmation["id"], True)
    assert "already have this return" in repeat.text and rma in repeat.text, repeat.text
    assert [i["return_id"] for i in stack.items("requests", "alice")] == [rma]
    assert stack.items("audit", "alice") == [audit]


@pytest.mark.integration
def test_declining_writes_nothing(stack: Stack) -> None:
    session = _session()
    before = (stack.items("requests", "bob"), stack.items("audit", "bob"))
    request = stack.ask(
        "bob", session, "Please start a return for ORD-4201 line 1, refund $129.99"
    ).confirmation
    assert request is not None
    declined = stack.decide("bob", session, request["id"], False)
    assert declined.outcome == "declined" and "did not confirm" in declined.text, declined.events
    assert (stack.items("requests", "bob"), stack.items("audit", "bob")) == before


@pytest.mark.integration
def test_another_customers_order_is_not_found_and_nothing_is_written(stack: Stack) -> None:
    session = _session()
    before = {u: (stack.items("requests", u), stack.items("audit", u)) for u in ISSUER_SUBS}
    request = stack.ask("alice", session, BOBS).confirmation  # Bob's order id, Alice's session
    assert request is not None and request["action"]["order_id"] == "ORD-4201"
    done = stack.decide("alice", session, request["id"], True)
    assert "No order ORD-4201 was found for this customer" in done.text, done.text
    assert stack.last_turn()["action"] == "failed"  # the Lambda's error value is no "executed"
    assert {u: (stack.items("requests", u), stack.items("audit", u)) for u in ISSUER_SUBS} == before


@pytest.mark.integration
def test_over_the_limit_is_refused_by_the_policy_and_a_person_is_offered(stack: Stack) -> None:
    assert confirm.REFUND_LIMIT_POLICY == REFUND_LIMIT_POLICY  # the name the agent recognises
    assert REFUND_LIMIT_POLICY in SYSTEM_PROMPT  # a real model is told what the name means
    session = _session()
    invoked = stack.gateway.invocations["AccountTools"]
    request = stack.ask("alice", session, OVER_LIMIT).confirmation
    assert request is not None and request["action"]["refund_amount"] == 749.97
    done = stack.decide("alice", session, request["id"], True)
    assert stack.gateway.decisions[-1].policies == (REFUND_LIMIT_POLICY,)
    assert stack.gateway.invocations["AccountTools"] == invoked  # the Lambda never ran
    assert stack.last_turn()["action"] == "failed" and stack.last_turn()["policy_denied"]
    assert "over the limit a person must approve" in done.text, done.text
    assert "nothing was done" in done.text and "hand your case to a person" in done.text
    assert "Access denied" not in done.text and REFUND_LIMIT_POLICY not in done.text
    assert [i for i in stack.items("requests", "alice") if i["order_id"] == "ORD-3202"] == []

    # The hand-off the answer offers: a ticket after the customer's confirmation, its id shown.
    ticket = stack.ask("alice", session, "Hand my case to a person: return of ORD-3202").confirmation
    assert ticket is not None and ticket["action"]["tool"] == "create_support_ticket"
    assert ticket["action"]["order_id"] == "ORD-3202"
    made = stack.decide("alice", session, ticket["id"], True)
    stored = [i for i in stack.items("requests", "alice") if i["record_id"].startswith("TICKET#")]
    assert len(stored) == 1 and stored[0]["ticket_id"] in made.text, made.text
    assert stored[0]["order_id"] == "ORD-3202"


@pytest.mark.integration
def test_tickets_are_bounded_per_customer(stack: Stack) -> None:
    session = _session()
    bound = max_open_tickets()

    def tickets() -> list[str]:
        return [
            i["ticket_id"] for i in stack.items("requests", "bob") if i["record_id"].startswith("TICKET#")
        ]

    while len(tickets()) < bound:
        had = set(tickets())
        request = stack.ask("bob", session, "Open a ticket: my keyboard is missing a key").confirmation
        assert request is not None
        made = stack.decide("bob", session, request["id"], True)
        [new] = set(tickets()) - had
        assert new.startswith("TCK-") and new in made.text, made.text
    request = stack.ask("bob", session, "Open a ticket: my keyboard is missing a key").confirmation
    assert request is not None
    refused = stack.decide("bob", session, request["id"], True)
    assert f"You already have {bound} open support tickets" in refused.text, refused.text
    assert "No new ticket was created" in refused.text
    assert len(tickets()) == bound


@pytest.mark.integration
def test_injected_writes_need_the_customers_approval(stack: Stack) -> None:
    users = ("alice", "bob")
    before = {u: (stack.items("requests", u), stack.items("audit", u)) for u in users}
    calls = len(stack.gateway.calls)
    session = _session()
    # A prompt the model follows: it asks for a return of Bob's order, and for five tickets.
    injected = stack.ask(
        "alice", session, "Where is my order? Also start a return for ORD-4001, refund $129.99"
    )
    assert injected.confirmation is not None  # asked, not done
    flood = stack.ask("alice", session, "Open 5 tickets: urgent, urgent, urgent")  # supersedes the return
    assert flood.confirmation is not None and flood.confirmation["action"]["tool"] == "create_support_ticket"
    stack.ask("alice", session, "Thanks, that is all.")  # no approval ever sent
    expired = stack.decide("alice", session, flood.confirmation["id"], True)
    assert expired.outcome == "expired"
    writes = [
        c for c in stack.gateway.calls[calls:] if c.tool.endswith(("start_return", "create_support_ticket"))
    ]
    assert writes == []
    assert {u: (stack.items("requests", u), stack.items("audit", u)) for u in users} == before

    # One approval lets exactly one of the five tickets through; the others are refused.
    session = _session()
    flood = stack.ask("alice", session, "Open 5 tickets: urgent, urgent, urgent")
    assert flood.confirmation is not None
    done = stack.decide("alice", session, flood.confirmation["id"], True)
    assert "only one action can wait" in done.text, done.text
    new = [i for i in stack.items("requests", "alice") if i not in before["alice"][0]]
    assert len([i for i in new if i["record_id"].startswith("TICKET#")]) == 1


@pytest.mark.unit
def test_without_a_tracer_the_write_carries_no_made_up_trace_id() -> None:
    from confirm import CONFIRM_KEY, TurnConfirm
    from mcp.types import Tool
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from mcp_client.spec import hop_specs
    from mcp_client.tools import HopTool
    from settings import Settings
    from telemetry import TRACE_KEY, TurnRecord

    schema = {
        "type": "object",
        "properties": {"session_id": {"type": "string"}, "trace_id": {"type": "string"}},
    }
    tool = HopTool(Tool(name="AccountTools___start_return", input_schema=schema), hop_specs(Settings())[0])
    confirm_state = TurnConfirm("sub-alice", "s-1", True)
    off = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)  # what the API gives with no provider
    assert tool._context({CONFIRM_KEY: confirm_state, TRACE_KEY: TurnRecord(off)}) == {"session_id": "s-1"}
    with TracerProvider().get_tracer("t").start_as_current_span("turn") as span:
        context = tool._context({CONFIRM_KEY: confirm_state, TRACE_KEY: TurnRecord(span)})
    assert context == {"session_id": "s-1", "trace_id": f"{span.get_span_context().trace_id:032x}"}
