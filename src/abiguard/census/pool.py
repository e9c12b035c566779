"""The local engine: a pool of worker processes of our own (``-j N``).

The coordinator hands each worker one package at a time, so it always knows which package a
worker is on: a worker that dies (segfault, OOM kill, ``os._exit``) is recorded as a ``crash``
failure of that package and replaced; a package over ``--timeout`` gets its worker killed and
a ``timeout`` failure. Ctrl-C stops everything; what was finished is already stored. Workers
come from a forkserver: they never inherit the coordinator's threads, locks or open store.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import signal
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from typing import Any

from ..sources import PackageRef
from .config import Config
from .store import Result
from .task import failure, run_task
from .worker import STATE


def worker_main(conn: Connection, config: Config) -> None:
    """A worker process: run the task of each package it is given, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's business
    try:
        while True:
            try:
                ref = conn.recv()
            except (EOFError, OSError):
                return
            if ref is None:
                return
            conn.send(run_task(ref, config))
    finally:  # multiprocessing ends workers with os._exit: atexit handlers do not run
        if STATE.private_dir:
            shutil.rmtree(STATE.private_dir, ignore_errors=True)


class Worker:
    """One worker process, the package it is on and since when."""

    def __init__(self, ctx: BaseContext, config: Config) -> None:
        parent, child = ctx.Pipe()
        self.conn = parent
        self.proc: Any = ctx.Process(  # type: ignore[attr-defined]
            target=worker_main, args=(child, config), daemon=True)
        self.proc.start()
        child.close()
        self.ref: PackageRef | None = None
        self.started = 0.0

    def give(self, ref: PackageRef) -> None:
        self.ref = ref
        self.started = time.monotonic()
        self.conn.send(ref)

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class LocalEngine:
    """A local pool of worker processes (forkserver: workers never inherit the
    coordinator's threads, locks or open store)."""

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)

    def describe(self) -> str:
        return f"local pool, {self.jobs} worker process(es)"

    def run(self, refs: Iterable[PackageRef], config: Config) -> Iterator[Result]:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["abiguard.census.task", "abiguard.pipeline",
                                    "abiguard.sources", "debian.debfile"])
        todo = iter(refs)
        workers: list[Worker] = []
        try:
            for _ in range(self.jobs):
                w = Worker(ctx, config)
                workers.append(w)
                ref = next(todo, None)
                if ref is not None:
                    w.give(ref)
            while True:
                busy = [w for w in workers if w.ref is not None]
                if not busy:
                    return
                timeout = None
                if config.timeout:
                    now = time.monotonic()
                    timeout = max(0.0, min(w.started + config.timeout - now for w in busy))
                ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy],
                                 timeout))
                for i, w in enumerate(workers):
                    if w.ref is None:
                        continue
                    result = None
                    replace_worker = False
                    if w.conn in ready or w.proc.sentinel in ready:
                        try:
                            if w.conn.poll():
                                result = w.conn.recv()
                        except (EOFError, OSError):
                            result = None
                        if result is None:
                            w.proc.join(1)
                            code = w.proc.exitcode
                            how = (f"killed by signal {-code}" if code is not None and code < 0
                                   else f"exit status {code}")
                            result = failure(w.ref, "crash", f"worker process died ({how})",
                                             seconds=time.monotonic() - w.started)
                            replace_worker = True
                    elif config.timeout and time.monotonic() - w.started > config.timeout:
                        result = failure(w.ref, "timeout",
                                         f"took longer than {config.timeout:g} s (--timeout)",
                                         seconds=time.monotonic() - w.started)
                        replace_worker = True
                    if result is None:
                        continue
                    w.ref = None
                    if replace_worker:
                        w.kill()
                        w = workers[i] = Worker(ctx, config)
                    yield result
                    ref = next(todo, None)
                    if ref is not None:
                        w.give(ref)
        finally:
            for w in workers:
                if w.ref is None and w.proc.is_alive():
                    try:
                        w.conn.send(None)
                    except OSError:
                        pass
            deadline = time.monotonic() + 2
            for w in workers:
                if w.ref is not None:
                    w.kill()
                else:
                    w.proc.join(max(0.0, deadline - time.monotonic()))
                    if w.proc.is_alive():
                        w.kill()


__all__ = ["LocalEngine", "Worker", "worker_main"]
