"""How a long stage tells the person waiting what it starts, without printing.

Stages never print. A stage that may take long (downloading packages, unpacking them,
resolving many consumers) takes an optional ``notify`` callable and calls it once per phase::

    notify("download", "downloading 41 package(s) with apt-get: libfdt1, …")

The command decides what to show (``abiguard.commands._common.PhaseLines``: a line on stderr
unless ``--quiet``). ``phase`` is one of :data:`PHASES`; ``message`` is one line for people.
"""

from __future__ import annotations

from collections.abc import Callable

Notify = Callable[[str, str], None]
"""notify(phase, message)."""

PHASES = ("download", "unpack", "resolve")


def silent(phase: str, message: str) -> None:
    """A notify that shows nothing (the default of every stage)."""


def short_list(names: list[str], n: int = 4) -> str:
    """'a, b, c, …' for a phase message."""
    return ", ".join(names[:n]) + (", …" if len(names) > n else "")


__all__ = ["PHASES", "Notify", "short_list", "silent"]
