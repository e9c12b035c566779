"""Renderers: they only read the results, and nothing else renders.

``render(obj, fmt)`` picks the format module ``abiguard.render.<fmt>`` (text, markdown, json,
sarif, html, svg, toml; imported on first use) and, in its ``RENDERERS`` table, the function
for the object's type (:mod:`abiguard.render.dispatch`).
"""

from __future__ import annotations

import importlib
from typing import Any

from ..demangle import demangling, enabled

FORMATS = ("text", "markdown", "json", "sarif", "html", "svg", "toml")


def render(obj: Any, fmt: str, **options: Any) -> str:
    """Render a result (Audit, Plan, DiffResult, GateResult, WhereResult, ...) in a format.

    ``demangle=False`` keeps C++ names raw (the default follows :mod:`abiguard.demangle`:
    on, unless the command line said ``--no-demangle``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}")
    module = importlib.import_module(f"abiguard.render.{fmt}")
    with demangling(options.pop("demangle", enabled())):
        text: str = module.render(obj, **options)
    return text


__all__ = ["FORMATS", "render"]
