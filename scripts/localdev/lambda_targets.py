"""The Lambda targets the local gateway runs in-process: where each handler is, and how it is loaded."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
Handler = Callable[..., Any]

DEFAULT_HANDLERS = {
    "WarrantyCheck": REPO / "app" / "WarrantyCheck" / "handler.py",
    "AccountTools": REPO / "app" / "AccountTools" / "handler.py",
}


def load_handler(path: Path, function: str = "lambda_handler") -> Handler:
    """Import a Lambda handler from a file, as the Lambda runtime would (its folder on sys.path)."""
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    spec = importlib.util.spec_from_file_location(f"lambda_{path.parent.name.lower()}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, function)
