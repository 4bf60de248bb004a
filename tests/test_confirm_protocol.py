"""The confirmation protocol's parts alone: the payloads the guard accepts, the pending-action store.

The whole protocol, through the agent and a recording MCP server, is tests/test_confirmations.py.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from confirm import Action, ConfirmDecision, PendingActions

from guard import PayloadError, parse_invocation


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"confirm": {"id": "a", "approve": "yes"}}, '"confirm" must be'),
        ({"confirm": {"id": "a"}}, '"confirm" must be'),
        ({"confirm": {"id": "a" * 65, "approve": True}}, '"confirm" must be'),
        ({"confirm": {"id": "a", "approve": True}, "prompt": "hi"}, "not both"),
        ({"prompt": "hi", "can_confirm": "yes"}, '"can_confirm" must be'),
    ],
)
def test_bad_confirm_payloads_are_a_400(body: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_invocation(json.dumps(body).encode(), 100)
    assert caught.value.status == 400 and message in caught.value.message


def test_payloads_parse() -> None:
    assert parse_invocation(b'{"prompt": "hi"}', 100) == ("hi", None, False)
    assert parse_invocation(b'{"prompt": "say \\"confirm\\"", "can_confirm": true}', 100)[2] is True
    decision = parse_invocation(b'{"confirm": {"id": "abc", "approve": false}}', 100)[1]
    assert decision == ConfirmDecision("abc", False)


def test_pending_actions_are_single_use_expire_and_are_bounded_per_user() -> None:
    store = PendingActions(ttl_seconds=0.2, per_user=2)
    action = Action("AccountTools___start_return", {"order_id": "ORD-1", "customer_id": "a"})
    first = store.put("a", "s1", action, "i1")
    assert store.take("a", "s1", "wrong") is None and store.take("b", "s1", first.id) is None
    assert store.take("a", "s1", first.id) is first and store.take("a", "s1", first.id) is None
    for session in ("s1", "s2", "s3"):
        store.put("a", session, action, "i")
    store.put("b", "s1", action, "i")
    assert store.get("a", "s1") is None and store.get("a", "s3") is not None and len(store) == 3
    time.sleep(0.25)
    assert store.get("a", "s3") is None and len(store) == 0
    changed = Action(action.tool, {**action.arguments, "order_id": "ORD-2"})
    assert len(action.digest) == 64 and action.digest != changed.digest


def test_the_offline_script_starts_returns_only_when_asked_explicitly() -> None:
    from model.offline import OfflineModel

    specs: Any = [{"name": f"AccountTools___{n}"} for n in ("start_return", "create_support_ticket")]

    def decide(prompt: str) -> Any:
        return OfflineModel().decide([{"role": "user", "content": [{"text": prompt}]}], specs, "")

    assert decide("Can I return my headphones?") == ("get_return_policy", {"product_category": "headphones"})
    assert decide("Please start a return for ORD-1 line 2, refund $5") == (
        "AccountTools___start_return",
        {"order_id": "ORD-1", "line": 2, "refund_amount": 5.0},
    )
    assert decide("Open a ticket: the box was empty")[1] == {"summary": "the box was empty"}
