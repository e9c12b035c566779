"""A progress bar on stderr (only used when stderr is a terminal)."""

from __future__ import annotations


class Progress:
    """Callable as progress(done, total, current) -> draws a rich progress bar with rate/ETA."""

    def __init__(self, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as _P

        self._p = _P(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                     TaskProgressColumn(), TimeRemainingColumn(),
                     TextColumn("[dim]{task.fields[current]}"),
                     console=Console(stderr=True), transient=True)
        self._task = self._p.add_task(label, total=None, current="")
        self._p.start()

    def __call__(self, done: int, total: int, current: str) -> None:
        self._p.update(self._task, completed=done, total=total, current=current[-60:])

    def close(self) -> None:
        self._p.stop()
