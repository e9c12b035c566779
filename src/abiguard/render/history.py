"""The archive history (``abiguard history``) as the policy file ``--policy`` takes: TOML, or
the same data as JSON (:mod:`abiguard.policy.archive` writes both)."""

from __future__ import annotations

from typing import Any

from ..policy import archive
from ..policy.collect import HistoryRun


def history_toml(run: HistoryRun, **_: Any) -> str:
    return archive.to_toml(run.data)


def history_json(run: HistoryRun, **_: Any) -> str:
    return archive.to_json(run.data)


__all__ = ["history_json", "history_toml"]
