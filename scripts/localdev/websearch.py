"""A local stand-in for the public web-search MCP server (Exa's, which the agent uses by default).

An MCP streamable-HTTP server (the ``mcp`` package's low-level server) with one tool named like
the public server's, ``web_search_exa`` (``query``, optional ``numResults``), answering from the
pages in ``data/web_pages.json`` by keyword match. No network beyond 127.0.0.1, no sign-in.

It records the headers of every HTTP request it receives (``requests``, and as JSON lines in
``--record FILE``), so tests can prove that no caller's credential ever reaches it. The recording
holds whatever arrived: point only test or local traffic at it.

Run: ``python -m scripts.localdev.websearch [--port N] [--ready-file F] [--record F]``; the MCP
endpoint is ``http://127.0.0.1:PORT/mcp``.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from starlette.types import ASGIApp, Receive, Scope, Send

PAGES = Path(__file__).resolve().parent / "data" / "web_pages.json"
TOOL_NAME = "web_search_exa"
MAX_RESULTS = 5
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    {"how", "to", "the", "a", "an", "my", "i", "do", "does", "for", "of", "is", "why", "what"}
)


@cache
def pages() -> tuple[dict[str, str], ...]:
    """The canned pages (read once, on first search)."""
    return tuple(json.loads(PAGES.read_text()))


def search(query: str, limit: int = 3) -> list[dict[str, str]]:
    """Pages sharing the most words with `query` (best first)."""
    words = {w for w in _WORD.findall(query.lower()) if w not in _STOPWORDS}
    scored = []
    for page in pages():
        haystack = set(_WORD.findall(f"{page['title']} {page['text']}".lower()))
        score = sum(1 for w in words if w in haystack or w.rstrip("s") in haystack)
        if score:
            scored.append((score, page))
    scored.sort(key=lambda item: -item[0])
    return [page for _, page in scored[: max(1, min(limit, MAX_RESULTS))]]


class LocalWebSearch:
    """The MCP server plus a recorder of every request's headers, as one ASGI app."""

    def __init__(self, record_file: Path | None = None) -> None:
        self.record_file = record_file
        self.requests: list[dict[str, str]] = []  # headers of every HTTP request, in order
        self.queries: list[str] = []
        self.url = ""  # the MCP endpoint, set by whoever serves the app
        self._lock = threading.Lock()
        self._server = Server(
            "local-web-search", on_list_tools=self._list_tools, on_call_tool=self._call_tool
        )
        self._mcp_app = self._server.streamable_http_app(stateless_http=True, json_response=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Record the request's headers, then serve MCP."""
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            with self._lock:
                self.requests.append(headers)
                if self.record_file is not None:
                    with self.record_file.open("a") as out:
                        out.write(json.dumps(headers) + "\n")
        await self._mcp_app(scope, receive, send)

    @property
    def app(self) -> ASGIApp:
        """This object, as an ASGI app."""
        return self

    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=TOOL_NAME,
                    description="Search the web; returns page titles, URLs and text.",
                    input_schema={
                        "type": "object",
                        "properties": {
                            "query": {"type": "string", "description": "What to search for"},
                            "numResults": {"type": "integer", "description": "How many results (1-5)"},
                        },
                        "required": ["query"],
                    },
                )
            ]
        )

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = dict(params.arguments or {})
        if params.name != TOOL_NAME or not isinstance(arguments.get("query"), str):
            return types.CallToolResult(
                content=[types.TextContent(type="text", text="Unknown tool or missing query")], is_error=True
            )
        query = arguments["query"][:500]
        self.queries.append(query)
        wanted = arguments.get("numResults")
        limit = wanted if isinstance(wanted, int) else 3
        found = search(query, limit)
        text = "\n\n".join(f"Title: {p['title']}\nURL: {p['url']}\n{p['text']}" for p in found)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text or "No results.")])


def main(argv: list[str] | None = None) -> None:
    """Serve the local web search until interrupted."""
    from scripts.localdev.serving import serve_forever

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--ready-file", type=Path, help="write the URL here as JSON once serving")
    parser.add_argument("--record", type=Path, help="append every request's headers to this file")
    args = parser.parse_args(argv)
    server = LocalWebSearch(args.record)

    def announce(port: int) -> None:
        url = f"http://127.0.0.1:{port}/mcp"
        print(f"web_search_url: {url}", flush=True)
        if args.ready_file:
            args.ready_file.write_text(json.dumps({"web_search_url": url}))

    serve_forever(server.app, args.port, announce)


if __name__ == "__main__":
    main()
