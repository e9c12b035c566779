"""Renderers: they only read the model. ``render(obj, fmt)`` picks ``render/<fmt>.py``."""

from __future__ import annotations

import importlib
from typing import Any


def render(obj: Any, fmt: str, **options: Any) -> str:
    """Render a model object (Audit, Plan, ...) in a format: text, json, markdown, sarif, html.

    ``demangle=False`` keeps C++ names raw (the default follows :mod:`abiguard.demangle`:
    on, unless the command line said ``--no-demangle``)."""
    from ..demangle import demangling, enabled

    module = importlib.import_module(f"abiguard.render.{fmt}")
    with demangling(options.pop("demangle", enabled())):
        return module.render(obj, **options)
