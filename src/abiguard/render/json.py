"""JSON: the documented, versioned model schema (docs/schema.md)."""

from __future__ import annotations

from typing import Any

from ..model import to_json


def render(obj: Any, **_: Any) -> str:
    return to_json(obj)
