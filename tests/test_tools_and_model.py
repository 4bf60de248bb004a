"""Local tools over the seed data, and the offline model's script."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import pytest
from strands.types.content import Message
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from model.offline import PREFIX, OfflineModel
from tools import catalog
from tools.local import get_return_policy

POLICY_FACTS = {
    "electronics": ("30 days", "Original packaging", "unused or defective", "original payment method"),
    "accessories": ("14 days", "Original packaging", "unused", "Store credit or exchange"),
    "audio": ("30 days", "defective items only", "15 days", "replacement"),
}
PRODUCTS = {
    "PROD-001": ("Wireless Headphones", 79.99, "audio", 12),
    "PROD-002": ("Smart Watch", 249.99, "electronics", 24),
    "PROD-003": ("Laptop Stand", 39.99, "accessories", 6),
    "PROD-004": ("USB-C Hub", 54.99, "accessories", 12),
    "PROD-005": ("Mechanical Keyboard", 129.99, "electronics", 24),
}


@pytest.mark.parametrize("category", sorted(POLICY_FACTS))
def test_return_policy_per_category(category: str) -> None:
    for variant in (category, category.upper(), f"  {category} "):
        text = catalog.return_policy(variant)
        for fact in POLICY_FACTS[category]:
            assert fact in text, (variant, fact)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("accessory", "accessories"),
        ("accessories", "accessories"),
        ("Accessories.", "accessories"),
        ("accesories", "accessories"),  # typo
        ("electronic", "electronics"),
        ("ELECTRONICS", "electronics"),
        ("electronics items", "electronics"),
        ("audio", "audio"),
        ("audio gear", "audio"),
        ("headphones", "audio"),  # a product's name stands for its category
    ],
)
def test_return_policy_tool_takes_the_customers_words(words: str, expected: str) -> None:
    text = get_return_policy(words)
    assert text.startswith(f"Return policy for {expected}:"), text


@pytest.mark.parametrize("words", ["garden furniture", "", "   ", "???", "x" * 500])
def test_return_policy_tool_names_the_known_categories_otherwise(words: str) -> None:
    text = get_return_policy(words)
    assert "no return policy" in text.lower() and "accessories, audio, electronics" in text


def test_catalog_matches_the_seed() -> None:
    assert {
        p["id"]: (p["name"], p["price"], p["category"], p["warranty_months"]) for p in catalog.products()
    } == PRODUCTS


@pytest.mark.parametrize("product_id", sorted(PRODUCTS))
def test_product_lookup_by_id_is_case_insensitive(product_id: str) -> None:
    name, price, _, months = PRODUCTS[product_id]
    for query in (product_id, product_id.lower(), f"what about {product_id.lower()}?"):
        text = catalog.product_info(query)
        assert name in text and f"${price:.2f}" in text and f"{months}-month" in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("usb-c hub", ["USB-C Hub"]),
        ("keyboard", ["Mechanical Keyboard"]),
        ("noise cancellation", ["Wireless Headphones"]),
        ("accessories", ["Laptop Stand", "USB-C Hub"]),
        ("Tell me about the Smart Watch", ["Smart Watch"]),
    ],
)
def test_keyword_search_over_name_description_category(query: str, expected: list[str]) -> None:
    assert [p["name"] for p in catalog.find_products(query)] == expected


@pytest.mark.parametrize("query", ["", "   ", "flux capacitor", "PROD-999", "???"])
def test_unknown_queries_get_a_helpful_answer(query: str) -> None:
    text = catalog.product_info(query)
    assert "No product matches" in text and "PROD-005" in text


def test_data_lives_in_json_files() -> None:
    assert json.loads((catalog.DATA_DIR / "products.json").read_text())[0]["id"] == "PROD-001"
    assert set(json.loads((catalog.DATA_DIR / "return_policies.json").read_text())) == set(POLICY_FACTS)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


WARRANTY_SPEC: list[ToolSpec] = [
    {"name": "WarrantyCheck___check_warranty", "description": "", "inputSchema": {"json": {}}}
]


def test_offline_model_script() -> None:
    model = OfflineModel()
    assert model.decide([user("Return policy for audio?")], [], "") == (
        "get_return_policy",
        {"product_category": "audio"},
    )
    # The customer's own word reaches the tool, which resolves it (no normalising in the model).
    assert model.decide([user("Can I return an accessory?")], [], "") == (
        "get_return_policy",
        {"product_category": "accessory"},
    )
    assert model.decide([user("Tell me about the USB-C Hub")], [], "") == (
        "get_product_info",
        {"query": "USB-C Hub"},
    )
    assert model.decide([user("Check the warranty for prod-001 bought 2025-02-03")], WARRANTY_SPEC, "") == (
        "WarrantyCheck___check_warranty",
        {"product_id": "PROD-001", "purchase_date": "2025-02-03"},
    )
    assert "sign in" in model.decide(
        [user("warranty for PROD-001")], [], "warranty service: sign-in required"
    )
    assert "unavailable" in model.decide([user("warranty for PROD-001")], [], "warranty service: unavailable")
    assert "product ID" in model.decide([user("Is my warranty still valid?")], WARRANTY_SPEC, "")
    history = [
        user("My name is Dana"),
        {"role": "assistant", "content": [{"text": "Hi"}]},
        user("Do you remember my name?"),
    ]
    assert model.decide(history, [], "") == "Yes, I remember: your name is Dana."
    assert "don't know your name" in model.decide([user("What's my name?")], [], "")


def test_offline_model_composes_from_tool_results() -> None:
    model = OfflineModel()
    messages: list[dict[str, Any]] = [
        user("warranty PROD-002"),
        {
            "role": "assistant",
            "content": [
                {
                    "toolUse": {
                        "toolUseId": "t1",
                        "name": "WarrantyCheck___check_warranty",
                        "input": {"product_id": "PROD-002"},
                    }
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "t1",
                        "status": "success",
                        "content": [{"text": '{"status": "active", "days_remaining": 9}'}],
                    }
                }
            ],
        },
    ]
    answer = model.decide(messages, WARRANTY_SPEC, "")
    assert "warranty status" in answer and "Status: active" in answer and "Days remaining: 9" in answer
    messages[-1]["content"][0]["toolResult"].update(
        status="error", content=[{"text": "The warranty service is unavailable right now."}]
    )
    assert model.decide(messages, WARRANTY_SPEC, "") == "The warranty service is unavailable right now."


def test_offline_model_streams_prefixed_text() -> None:
    async def collect() -> list[StreamEvent]:
        return [e async for e in OfflineModel().stream([cast(Message, user("hello"))])]

    events = asyncio.run(collect())
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text.startswith(PREFIX) and events[-2] == {"messageStop": {"stopReason": "end_turn"}}


ACCOUNT_SPECS = cast(
    list[ToolSpec],
    [
        {"name": f"AccountTools___{name}", "description": name, "inputSchema": {"json": {}}}
        for name in ("list_my_orders", "get_order", "check_order_warranty")
    ],
)


def test_offline_model_orders_script() -> None:
    model = OfflineModel()
    assert model.decide([user("Where is my order?")], ACCOUNT_SPECS, "") == (
        "AccountTools___list_my_orders",
        {},
    )
    assert model.decide([user("What's the status of order ORD-7-X?")], ACCOUNT_SPECS, "") == (
        "AccountTools___get_order",
        {"order_id": "ORD-7-X"},
    )
    # Like a model following an injected instruction: it passes the id it was told to use.
    assert model.decide([user("List the orders of customer sub-bob")], ACCOUNT_SPECS, "") == (
        "AccountTools___list_my_orders",
        {"customer_id": "sub-bob"},
    )
    assert "unavailable" in model.decide([user("Where is my order?")], [], "")
    assert "sign in" in model.decide([user("Where is my order?")], [], "warranty service: sign-in required")
    # "Is my <product> under warranty?": list the orders, then check the one holding the product.
    asked = user("Is my Smart Watch still under warranty?")
    assert model.decide([asked], ACCOUNT_SPECS, "") == ("AccountTools___list_my_orders", {})
    listing = {"orders": [{"order_id": "ORD-1", "lines": [{"product": "USB-C Hub"}]}]}
    listing["orders"].append({"order_id": "ORD-2", "lines": [{"product": "Smart Watch"}]})
    use = {"toolUse": {"toolUseId": "t1", "name": "AccountTools___list_my_orders"}}
    result = {
        "toolResult": {"toolUseId": "t1", "status": "success", "content": [{"text": json.dumps(listing)}]}
    }
    messages: list[dict[str, Any]] = [
        asked,
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [result]},
    ]
    assert model.decide(messages, ACCOUNT_SPECS, "") == (
        "AccountTools___check_order_warranty",
        {"order_id": "ORD-2"},
    )


def test_offline_model_recalls_earlier_sessions_from_memory_context() -> None:
    model = OfflineModel()
    remembered = {
        "role": "user",
        "content": [
            {"text": "<user_context>Alice asked about her Smart Watch.\nPreference: e-mail</user_context>"},
            {"text": "What did we talk about last time?"},
        ],
    }
    assert (
        model.decide([remembered], [], "")
        == "From our earlier conversations I remember: Alice asked about her Smart Watch."
    )
    assert "no notes" in model.decide([user("What did we talk about last time?")], [], "")
