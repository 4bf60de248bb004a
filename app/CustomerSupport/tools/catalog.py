"""Return policies and the product catalog, read from the JSON files in ``data/``.

Pure functions over the data: they never raise on user input and always return text a customer
can read, so a model can relay them directly.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
_PRODUCT_ID = re.compile(r"\bPROD-\d{3}\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "about",
        "the",
        "for",
        "of",
        "me",
        "tell",
        "what",
        "is",
        "are",
        "do",
        "you",
        "have",
        "with",
        "on",
        "in",
        "to",
        "my",
    ]
)


@cache
def products() -> tuple[dict[str, Any], ...]:
    """The product catalog (loaded once, on first use)."""
    return tuple(json.loads((DATA_DIR / "products.json").read_text()))


@cache
def return_policies() -> dict[str, dict[str, Any]]:
    """Return policies by category (loaded once, on first use)."""
    policies: dict[str, dict[str, Any]] = json.loads((DATA_DIR / "return_policies.json").read_text())
    return policies


def format_policy(category: str, policy: dict[str, Any]) -> str:
    """One policy as customer-facing text."""
    return (
        f"Return policy for {category}: returns accepted within {policy['return_window_days']} days. "
        f"{policy['condition']} Refund: {policy['refund']}"
    )


def _category_forms(word: str) -> list[str]:
    """The word and its likely singular/plural forms (accessory ↔ accessories, cable ↔ cables)."""
    forms = [word, word + "s", word + "es", word.removesuffix("s"), word.removesuffix("es")]
    if word.endswith("y"):
        forms.append(word[:-1] + "ies")
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    return forms


def match_category(product_category: str) -> str | None:
    """The category a customer's words name: case, plural, small typos and product names forgiven."""
    policies = return_policies()
    words = _WORD.findall((product_category or "").lower())
    phrase = " ".join(words)
    for candidate in [phrase, *words]:
        for form in _category_forms(candidate):
            if form in policies:
                return form
    close = difflib.get_close_matches(phrase, policies, n=1, cutoff=0.8)
    if close:
        return str(close[0])
    # A product's name ("headphones") stands for its category when it names just one.
    categories: set[str] = {str(p["category"]) for p in find_products(phrase)} if phrase else set()
    return categories.pop() if len(categories) == 1 else None


def return_policy(product_category: str) -> str:
    """The return policy for a category (case-insensitive, singular or plural, small typos)."""
    policies = return_policies()
    category = match_category(product_category)
    if category is None:
        known = ", ".join(sorted(policies))
        return f"There is no return policy for '{product_category}'. Known categories: {known}."
    return format_policy(category, policies[category])


def format_product(product: dict[str, Any]) -> str:
    """One product as customer-facing text."""
    return (
        f"{product['name']} ({product['id']}): ${product['price']:.2f}, category {product['category']}, "
        f"{product['warranty_months']}-month warranty. {product['description']}"
    )


def find_products(query: str) -> list[dict[str, Any]]:
    """Products matching an ID (case-insensitive) or keywords in name, description or category."""
    text = (query or "").strip()
    by_id = {p["id"]: p for p in products()}
    ids = [m.group(0).upper() for m in _PRODUCT_ID.finditer(text)]
    if ids:
        return [by_id[i] for i in ids if i in by_id]
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
    if not words:
        return []
    scored = []
    for product in products():
        haystack = f"{product['name']} {product['description']} {product['category']}".lower()
        name = product["name"].lower()
        score = sum(3 if w in name else 1 for w in words if w in haystack)
        if score:
            scored.append((score, product))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    return [p for score, p in scored if score == best]


def product_info(query: str) -> str:
    """Customer-facing text for a product lookup."""
    found = find_products(query)
    if found:
        return "\n".join(format_product(p) for p in found)
    names = ", ".join(f"{p['name']} ({p['id']})" for p in products())
    return f"No product matches '{query}'. Our products: {names}."
