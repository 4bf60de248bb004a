"""The local stack as tests use it: client ids, AUTH_* for the issuer, agent processes, replies."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import REPO, VENV_BIN, free_port, start_process, stop_process, wait_http

MACHINE_CLIENT = "cs-machine-client"
USER_CLIENT = "cs-web-client"
SCOPE = "customersupport/invoke"
# The test issuer's users (username -> sub); tests/conftest.py seeds their demo orders.
ISSUER_SUBS = {"alice": "sub-alice", "bob": "sub-bob"}


def auth_env(issuer: Any) -> dict[str, str]:
    """AUTH_* variables pointing the agent or gateway at the test issuer."""
    return {
        "AUTH_MODE": "enforce",
        "AUTH_DISCOVERY_URL": issuer.discovery_url,
        "AUTH_ALLOWED_CLIENTS": f"{MACHINE_CLIENT},{USER_CLIENT}",
    }


class AgentServer:
    """The agent as `agentcore dev` runs it: uvicorn main:app in its own process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        uvicorn = str(VENV_BIN / "uvicorn")
        self.proc = start_process(
            [uvicorn, "main:app", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            cwd=REPO / "app" / "CustomerSupport",
            log=log,
        )
        wait_http(f"{self.url}/ping", self.proc)

    def invoke(
        self,
        body: Any,
        token: str | None = None,
        session: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """POST /invocations and collect the streamed answer."""
        send = dict(headers or {})
        if token is not None:
            send["Authorization"] = f"Bearer {token}"
        if session is not None:
            send["X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"] = session
        content = raw if raw is not None else json.dumps(body).encode()
        response = httpx.post(f"{self.url}/invocations", content=content, headers=send, timeout=60)
        return Reply.parse(response)

    def stop(self) -> None:
        stop_process(self.proc)


@dataclass
class Reply:
    """An /invocations response: status, the streamed text, error events, raw body."""

    status: int
    text: str
    errors: list[str]
    body: str
    headers: httpx.Headers

    @classmethod
    def parse(cls, response: httpx.Response) -> Reply:
        text, errors = [], []
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for line in response.text.splitlines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if isinstance(event, str):
                    text.append(event)
                elif isinstance(event, dict) and "error" in event:
                    errors.append(str(event["error"]))
        elif response.status_code >= 400:
            errors.append(str(response.json().get("error")))
        return cls(response.status_code, "".join(text), errors, response.text, response.headers)


def start_agent(
    issuer: Any, gateway: Any, workdir: Path, memory_dir: Path | None = None, **overrides: str
) -> AgentServer:
    """An agent process with the local stack's settings plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "AGENTCORE_", "MEMORY_"))}
    env.update(auth_env(issuer))
    env.update(
        {
            "MODEL_PROVIDER": "offline",
            "WEB_SEARCH_MCP_URL": "",  # no public host, ever; tests that search pass a local server
            "AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL": gateway.url,
            "LOCAL_MEMORY_DIR": str(memory_dir or workdir / "sessions"),
        }
    )
    env.update(overrides)
    return AgentServer(env, workdir / f"agent-{uuid.uuid4().hex[:8]}.log")


# -- the agent app in this process (lets a test see whether the entrypoint ran) ----------------
class InProcessAgent:
    """main.app served by uvicorn in this process, configured by environment variables."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
        import main
        from scripts.localdev.serving import BackgroundServer

        monkeypatch.delenv("AGENTCORE_GATEWAY_MY_GATEWAY_SECURE_URL", raising=False)
        monkeypatch.delenv("MEMORY_CUSTOMERSUPPORTMEMORY_ID", raising=False)
        for key, value in {"MODEL_PROVIDER": "offline", "WEB_SEARCH_MCP_URL": "", **env}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(main, "_service", None)
        monkeypatch.setattr(main, "_settings", None)
        self.entered: list[dict[str, Any]] = []
        original = main.app.handlers["main"]

        async def spy(payload: dict[str, Any], context: Any) -> AsyncIterator[object]:
            self.entered.append(payload)
            async for chunk in original(payload, context):
                yield chunk

        monkeypatch.setitem(main.app.handlers, "main", spy)
        self.server = BackgroundServer(main.app).start()
        self.url = self.server.url

    def post(
        self, authorization: str | None, prompt: str = "What is the return policy for audio?"
    ) -> httpx.Response:
        headers = {"Authorization": authorization} if authorization is not None else {}
        return httpx.post(f"{self.url}/invocations", json={"prompt": prompt}, headers=headers, timeout=30)


def claims(issuer: Any, **overrides: Any) -> dict[str, Any]:
    """Cognito access-token claims from `issuer`, with `overrides` (None removes a claim)."""
    now = int(time.time())
    base = {
        "iss": issuer.issuer,
        "sub": "sub-carol",
        "client_id": MACHINE_CLIENT,
        "token_use": "access",
        "scope": SCOPE,
        "iat": now,
        "auth_time": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}
