"""Renderers: they only read the model. ``render(obj, fmt)`` picks ``render/<fmt>.py``."""

from __future__ import annotations

import importlib
from typing import Any


def render(obj: Any, fmt: str, **options: Any) -> str:
    """Render a model object (Audit, Plan, ...) in a format: text, json, markdown, sarif, html."""
    module = importlib.import_module(f"abiguard.render.{fmt}")
    return module.render(obj, **options)
