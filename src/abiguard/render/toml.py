"""TOML: the archive history as a policy file ``--policy`` takes (``abiguard history``)."""

from __future__ import annotations

from typing import Any

from .dispatch import dispatch

RENDERERS: dict[str, str] = {
    "abiguard.policy.collect.HistoryRun": "abiguard.render.history:history_toml",
}


def render(obj: Any, **options: Any) -> str:
    return dispatch(RENDERERS, "toml", obj, **options)


__all__ = ["RENDERERS", "render"]
