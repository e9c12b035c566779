"""A progress bar on stderr (only used when stderr is a terminal).

It leaves nothing behind: it appears only once there is something to count and the work has
taken a moment (``DELAY`` seconds), its line is kept shorter than the terminal it is drawn on
(a line the terminal wraps would not be cleared: the width is the terminal's own, not a
COLUMNS variable meant for piped output), and it is removed when the work is done. A count
of zero (``0/0``) is never shown.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (rich.progress is imported when a bar is drawn)
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

DELAY = 0.3
"""Seconds of work before the bar appears (a quick scan shows none)."""


def stderr_console() -> Console:
    """A rich console on stderr as wide as the terminal it is (one column less: no line the
    terminal wraps), whatever COLUMNS says."""
    from rich.console import Console

    try:
        width = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        width = 80
    return Console(stderr=True, width=max(width - 1, 20))


class Progress:
    """Callable as progress(done, total, current): a rich progress bar with rate/ETA."""

    def __init__(self, label: str, delay: float = DELAY) -> None:
        self._label = label
        self._delay = delay
        self._console = stderr_console()
        self._p: RichProgress | None = None
        self._task: TaskID | None = None
        self._t0: float | None = None

    def _start(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as _P

        self._p = _P(TextColumn("{task.description}"), BarColumn(bar_width=20),
                     MofNCompleteColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                     TextColumn("[dim]{task.fields[current]}"),
                     console=self._console, transient=True)
        self._task = self._p.add_task(self._label, total=None, current="")
        self._p.start()

    def _room(self) -> int:
        """Characters left for the current item: the line stays inside the terminal."""
        fixed = len(self._label) + 20 + 2 * 7 + 5 + 8 + 6
        return max(0, int(self._console.width) - fixed - 2)

    def __call__(self, done: int, total: int, current: str) -> None:
        if total <= 0:
            return
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        if self._p is None:
            if done >= total or now - self._t0 < self._delay:
                return
            self._start()
        assert self._p is not None and self._task is not None
        room = self._room()
        shown = current if len(current) <= room else ("…" + current[-(room - 1):]
                                                      if room > 1 else "")
        from rich.markup import escape

        self._p.update(self._task, completed=done, total=total, current=escape(shown))

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
            self._p = None


class CensusBar:
    """A rich progress bar with packages/s, MB/s and ETA (stderr, only on a terminal)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as _P

        self.p = _P(TextColumn("census"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(),
                    TextColumn("[dim]{task.fields[current]}"),
                    console=stderr_console(), transient=True)
        self.task = self.p.add_task("census", total=None, rate="", current="")
        self.t0 = time.perf_counter()
        self.p.start()

    def __call__(self, done: int, total: int, result: Any, nbytes: int) -> None:
        dt = max(time.perf_counter() - self.t0, 1e-6)
        rate = f"{done / dt:.2f} pkg/s {nbytes / dt / 1e6:.1f} MB/s" if done else ""
        current = ""
        if result is not None:
            current = result.name + (" [red]failed" if result.status != "ok" else "")
        self.p.update(self.task, completed=done, total=total, rate=rate, current=current[-50:])

    def close(self) -> None:
        self.p.stop()


__all__ = ["CensusBar", "Progress", "stderr_console"]
