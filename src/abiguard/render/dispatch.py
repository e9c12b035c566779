"""The one dispatch of the renderers: per format, a table from result type to function.

Each format module (``abiguard.render.text``, ``.markdown``, ``.json``, ``.sarif``, ``.html``,
``.svg``, ``.toml``) holds ``RENDERERS: dict[type, Renderer]``; :func:`renderer_for` finds
the function for an object's type (its class, else the nearest base class in the table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Renderer = Callable[..., str]
"""``renderer(obj, **options) -> str`` (options: verbose, color, width, select, ...)."""


def renderer_for(table: Mapping[type, Renderer], obj: Any, fmt: str) -> Renderer:
    """The renderer of ``obj``'s type in ``table``; TypeError when the format has none."""
    for cls in type(obj).__mro__:
        fn = table.get(cls)
        if fn is not None:
            return fn
    raise TypeError(f"no {fmt} renderer for {type(obj).__name__}")


__all__ = ["Renderer", "renderer_for"]
