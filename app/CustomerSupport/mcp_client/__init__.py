"""The Gateway MCP client."""
