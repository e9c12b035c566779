"""The one dispatch of the renderers: per format, a table from result type to function.

Each format module (``abiguard.render.text``, ``.markdown``, ``.json``, ``.sarif``, ``.html``,
``.svg``, ``.toml``) holds ``RENDERERS``: the result type's qualified name
(``"abiguard.compare.diff.DiffResult"``) -> the renderer's (``"abiguard.render.text.diff:
render_diff_text"``). Both sides are names so that rendering a scan imports the scan's
renderer only, not those of the census, the proposal or the call sites (``abiguard scan``
stays quick to start); :func:`renderer_for` finds the function for an object's type (its
class, else the nearest base class in the table) and imports its module.
``tests/render/test_render.py`` resolves every entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

Renderer = Callable[..., str]
"""``renderer(obj, **options) -> str`` (options: verbose, color, width, select, ...)."""


def type_name(cls: type) -> str:
    """The table key of a type: ``module.QualifiedName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def resolve(target: str) -> Renderer:
    """``"package.module:function"`` -> the function."""
    module, _, name = target.partition(":")
    fn: Renderer = getattr(importlib.import_module(module), name)
    return fn


def renderer_for(table: Mapping[str, str], obj: Any, fmt: str) -> Renderer:
    """The renderer of ``obj``'s type in ``table``; TypeError when the format has none."""
    for cls in type(obj).__mro__:
        target = table.get(type_name(cls))
        if target is not None:
            return resolve(target)
    raise TypeError(f"no {fmt} renderer for {type(obj).__name__}")


def dispatch(table: Mapping[str, str], fmt: str, obj: Any, **options: Any) -> str:
    return renderer_for(table, obj, fmt)(obj, **options)


__all__ = ["Renderer", "dispatch", "renderer_for", "resolve", "type_name"]
