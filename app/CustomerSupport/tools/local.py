"""Strands tools over the local catalog."""

from __future__ import annotations

from strands import tool

from tools import catalog


@tool
def get_return_policy(product_category: str) -> str:
    """Get the return policy for a product category.

    Args:
        product_category: The category, e.g. electronics, accessories or audio.
    """
    return catalog.return_policy(product_category)


@tool
def get_product_info(query: str) -> str:
    """Look up products by ID (e.g. PROD-001) or by keywords in name, description or category.

    Args:
        query: A product ID or search words.
    """
    return catalog.product_info(query)


LOCAL_TOOLS = [get_return_policy, get_product_info]
