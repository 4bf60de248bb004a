"""Botocore's service models as the authority on AWS request formats, for tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import botocore
import pytest


def service_shapes() -> dict[str, Any]:
    """Shapes of the Gateway's control-plane API model (shipped with botocore).

    That model is the authority on the ToolDefinition format.
    """
    model = (
        Path(botocore.__file__).parent
        / "data"
        / "bedrock-agentcore-control"
        / "2023-06-05"
        / "service-2.json.gz"
    )
    with gzip.open(model, "rt", encoding="utf-8") as fh:
        return json.load(fh)["shapes"]


def check_shape(value: Any, shape_name: str, shapes: dict[str, Any], path: str) -> None:
    """Assert that `value` fits `shape_name` of `shapes` (fields, required members, enums)."""
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected an object"
        unknown = set(value) - set(shape["members"])
        assert not unknown, f"{path}: fields not in {shape_name}: {sorted(unknown)}"
        missing = set(shape.get("required", [])) - set(value)
        assert not missing, f"{path}: missing required {sorted(missing)}"
        for key, item in value.items():
            check_shape(item, shape["members"][key]["shape"], shapes, f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected an array"
        for index, item in enumerate(value):
            check_shape(item, shape["member"]["shape"], shapes, f"{path}[{index}]")
    elif kind == "map":
        assert isinstance(value, dict), f"{path}: expected an object"
        for key, item in value.items():
            check_shape(item, shape["value"]["shape"], shapes, f"{path}.{key}")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: expected a string"
        if "enum" in shape:
            assert value in shape["enum"], f"{path}: {value!r} not in {shape['enum']}"
    else:  # pragma: no cover - the ToolDefinition tree has no other kinds today
        pytest.fail(f"{path}: unhandled shape kind {kind}")
