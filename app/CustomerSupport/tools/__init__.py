"""Local tools of the CustomerSupport agent."""

from tools.local import LOCAL_TOOLS, get_product_info, get_return_policy

__all__ = ["LOCAL_TOOLS", "get_product_info", "get_return_policy"]
