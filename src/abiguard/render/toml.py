"""TOML: the archive history as a policy file ``--policy`` takes (``abiguard history``)."""

from __future__ import annotations

from typing import Any

from ..policy import archive
from ..policy.collect import HistoryRun
from .dispatch import Renderer, renderer_for


def history_toml(run: HistoryRun, **_: Any) -> str:
    return archive.to_toml(run.data)


RENDERERS: dict[type, Renderer] = {HistoryRun: history_toml}


def render(obj: Any, **options: Any) -> str:
    return renderer_for(RENDERERS, obj, "toml")(obj, **options)


__all__ = ["RENDERERS", "render"]
