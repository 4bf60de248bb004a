"""How an environment variable is declared (name, kind, default, one-line doc) and read.

The declarations themselves are in ``settings.py`` (``ENV_VARS``): ``load_settings`` reads the
environment only through them, the settings and limits objects take their defaults from them, and
``docs/configuration.md`` carries the table ``markdown_table()`` renders (a unit test keeps the two
equal). A value that does not parse stops start-up with ``NAME: expected <form>, got '<value>'``
(a secret's value is never shown).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A variable's value cannot configure the agent (the message names the variable)."""


@dataclass(frozen=True)
class Kind(Generic[T]):
    """How a value is read: the form it must have (said in errors) and its parser (ValueError if bad)."""

    expected: str
    parse: Callable[[str], T]


def _number(raw: str, minimum: float, strict: bool) -> float:
    value = float(raw)
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        raise ValueError(raw)
    return value


def _integer(raw: str, minimum: int, maximum: int | None = None) -> int:
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(raw)
    return value


def _url(raw: str) -> str:
    if not raw.startswith(("https://", "http://")):
        raise ValueError(raw)
    return raw


def choice(*options: str) -> Kind[str]:
    """A kind whose value is one of `options` (any case)."""

    def parse(raw: str) -> str:
        if raw.lower() not in options:
            raise ValueError(raw)
        return raw.lower()

    return Kind(f"one of {', '.join(options)}", parse)


def _key(raw: str) -> bytes:
    if len(raw) < 32:
        raise ValueError("too short")
    return raw.encode()


SECONDS = Kind("a number of seconds greater than 0", lambda raw: _number(raw, 0.0, strict=True))
SECONDS_OR_ZERO = Kind("a number of seconds (0 or more)", lambda raw: _number(raw, 0.0, strict=False))
WHOLE_SECONDS = Kind("a whole number of seconds (0 or more)", lambda raw: _integer(raw, 0))
COUNT = Kind("a whole number greater than 0", lambda raw: _integer(raw, 1))
PORT = Kind("a TCP port number (1-65535)", lambda raw: _integer(raw, 1, 65535))
TEXT: Kind[str] = Kind("text", str)
OPTIONAL_TEXT: Kind[str | None] = Kind("text", str)
OPTIONAL_URL: Kind[str | None] = Kind("an http(s) URL", _url)
OPTIONAL_PATH: Kind[Path | None] = Kind("a file path", Path)
NAMES = Kind("comma-separated names", lambda raw: tuple(i.strip() for i in raw.split(",") if i.strip()))
SECRET_KEY: Kind[bytes | None] = Kind("a secret of at least 32 characters", _key)


@dataclass(frozen=True)
class Var(Generic[T]):
    """One environment variable. Unset or blank means the default."""

    name: str
    kind: Kind[T]
    default: T
    doc: str
    default_doc: str | None = None  # for the docs when the default is not a constant
    secret: bool = False
    field: str | None = None  # the Settings field it fills directly, if any

    def read(self, env: Mapping[str, str]) -> T:
        """The variable's value in `env`, the default when unset or blank, or ConfigError."""
        raw = env.get(self.name, "").strip()
        if not raw:
            return self.default
        try:
            return self.kind.parse(raw)
        except (ValueError, TypeError):
            shown = "a value that is not shown (secret)" if self.secret else repr(raw)
            raise ConfigError(f"{self.name}: expected {self.kind.expected}, got {shown}") from None

    def default_text(self) -> str:
        """The default as the docs table shows it."""
        if self.default_doc is not None:
            return self.default_doc
        if self.default is None or self.default == ():
            return "—"
        value = self.default
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # type: ignore[assignment]
        return f"`{value}`"


def markdown_table(variables: Sequence[Var[Any]]) -> str:
    """The docs table of `variables` (docs/configuration.md holds exactly this)."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for var in variables:
        lines.append(f"| `{var.name}` | {var.default_text()} | {var.doc} |")
    return "\n".join(lines) + "\n"
