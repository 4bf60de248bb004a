"""The edge-grant variables, declared once (see envvars.py); auth/edge.py reads them through these."""

from __future__ import annotations

from typing import Any

from envvars import NAMES, OPTIONAL_TEXT, Kind, Var

MIN_KEY_CHARS = 32


def _keys(raw: str) -> tuple[bytes, ...]:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if any(len(k) < MIN_KEY_CHARS for k in keys):
        raise ValueError("too short")
    return tuple(k.encode() for k in keys)


EDGE_GRANT_KEYS = Var(
    "EDGE_GRANT_KEYS",
    Kind(f"comma-separated keys of at least {MIN_KEY_CHARS} characters each", _keys),
    (),
    "keys of the front door's edge grants (every one verifies, for rotation); set, customer tokens "
    "need a grant (docs/edge-code.md); a secret",
    secret=True,
)
EDGE_GRANT_SECRET_ID = Var(
    "EDGE_GRANT_SECRET_ID",
    OPTIONAL_TEXT,
    None,
    "a Secrets Manager secret holding the edge-grant key (its current and previous versions verify)",
)
EDGE_EXEMPT_CLIENTS = Var(
    "EDGE_EXEMPT_CLIENTS",
    NAMES,
    (),
    "app clients (operators' machine clients) whose tokens need no edge grant",
)
EDGE_NONCE_TABLE = Var(
    "EDGE_NONCE_TABLE",
    OPTIONAL_TEXT,
    None,
    "DynamoDB table remembering used grant nonces across microVMs; unset: in memory, one process",
)

EDGE_VARS: tuple[Var[Any], ...] = (
    EDGE_GRANT_KEYS,
    EDGE_GRANT_SECRET_ID,
    EDGE_EXEMPT_CLIENTS,
    EDGE_NONCE_TABLE,
)
