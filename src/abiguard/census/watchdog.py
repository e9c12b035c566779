"""Time limits and test hooks inside a census task.

:class:`Watchdog` raises :class:`~abiguard.census.config.TaskTimeout` in a task that runs over
its time where its worker cannot be killed (a Dask worker's thread); the local pool kills the
worker process instead. :func:`fault_hooks` are the crash and sleep hooks the fault tests set
(``ABIGUARD_CENSUS_CRASH``, ``ABIGUARD_CENSUS_SLEEP``)."""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, Self

from ..sources import PackageRef
from .config import Config, TaskTimeout


class Watchdog:
    """Raise TaskTimeout in the running task after ``seconds`` (signal in a main thread, an
    asynchronous exception in any other thread, e.g. a Dask worker's)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        self.active = False
        self.main = threading.current_thread() is threading.main_thread()
        self.tid = threading.get_ident()
        self.old: Any = None

    def _fire(self) -> None:
        with self.lock:
            if self.active:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.tid),
                                                           ctypes.py_object(TaskTimeout))

    def _alarm(self, signum: int, frame: FrameType | None) -> None:
        raise TaskTimeout()

    def __enter__(self) -> Self:
        if not self.seconds:
            return self
        self.active = True
        if self.main:
            self.old = signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        else:
            self.timer = threading.Timer(self.seconds, self._fire)
            self.timer.daemon = True
            self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.seconds:
            return
        with self.lock:
            self.active = False
        if self.main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old or signal.SIG_DFL)
        elif self.timer is not None:
            self.timer.cancel()
            # a pending asynchronous exception that did not fire yet must not leak out
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.tid), None)


def fault_hooks(ref: PackageRef, config: Config) -> None:
    """The fault tests' hooks: sleep first; crash (os._exit) on the package named."""
    if config.sleep:  # in slices: an asynchronous exception (the watchdog) lands between them
        end = time.monotonic() + config.sleep
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
    if config.crash:
        name, _, marker = config.crash.partition(":")
        if name == ref.name and not (marker and os.path.exists(marker)):
            if marker:
                Path(marker).write_text("crashed\n")
            os._exit(1)


__all__ = ["Watchdog", "fault_hooks"]
