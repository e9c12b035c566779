"""Census execution: one task function, two engines, and the run around them.

``run_task(ref, config)`` (:mod:`.task`) scans one consumer package and returns a
:class:`~abiguard.census.store.Result`; it never raises for a bad package (the failure is the
result). Both engines run exactly this function:

* :class:`~abiguard.census.pool.LocalEngine` -- a pool of worker processes of our own
  (``-j N``): a worker that dies is a ``crash`` failure of its package, a package over
  ``--timeout`` gets its worker killed;
* :class:`~abiguard.census.cluster.DaskEngine` -- a Dask distributed cluster
  (``--scheduler``): a bounded window of submitted packages, the timeout enforced inside the
  task.

The parts, one concern each: :mod:`.config` (what every task shares), :mod:`.task` (the
task), :mod:`.fetch` (fetching and unpacking: abiguard.debian.apt's one download path,
library closures, unpacked library packages shared by a machine's workers), :mod:`.worker`
(a worker's caches and the resolver glue), :mod:`.watchdog` (time limits inside a task),
:mod:`.pool` and :mod:`.cluster` (the engines), :mod:`.workdirs` (run directories), and here
:func:`run_census`, the run's bookkeeping: skip what is stored, run the rest, store each
result as it arrives.

A new engine is a class with ``name``, ``describe()`` and ``run(refs, config)`` yielding a
Result per ref (run_task's, or a failure of the ref); :func:`make_engine` picks one.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from ..errors import UsageError
from ..sources import PackageRef, package_kind
from .cluster import DaskEngine
from .config import Config, FetchError, TaskTimeout
from .fetch import fetch_deb, fetch_debs
from .pool import LocalEngine
from .store import Result, Store
from .task import identify, run_task
from .workdirs import new_scratch, new_workdir

Progress = Callable[[int, int, Result | None, int], None]
"""progress(done, total, the result that arrived or None, bytes so far)."""


class Engine(Protocol):
    name: str

    def describe(self) -> str: ...

    def run(self, refs: Iterable[PackageRef], config: Config) -> Iterator[Result]: ...


def make_engine(jobs: int | None = None, scheduler: Any = None) -> Engine:
    return DaskEngine(scheduler) if scheduler else LocalEngine(jobs)


def stored_key(ref: PackageRef, store: Store) -> tuple[str, str, str, str] | None:
    """The key of a ref known before its task runs: from an index, or the file table's
    record of the same local file (unchanged since)."""
    if ref.key is not None:  # known from an index (the worker checks the file against it)
        return ref.key
    if not ref.path:
        return None
    try:
        stamp = package_kind(ref.kind).stamp(ref)
    except ValueError:
        return None
    if stamp is None:
        return None
    return store.file_key(ref.path, stamp.size, stamp.mtime_ns, stamp.signature)


def run_census(refs: list[PackageRef], store: Store, engine: Engine, config: Config, *,
               retry_failed: bool = False, rescan: bool = False,
               arguments: list[str] | None = None, progress: Progress | None = None
               ) -> dict[str, Any]:
    """Skip the packages already stored, run the rest on the engine, store each result as it
    arrives. Returns counts: planned, skipped, done, failed, bytes, seconds."""
    todo: list[PackageRef] = []
    skipped = 0
    seen: set[tuple[str, str, str, str]] = set()
    for ref in refs:
        key = stored_key(ref, store)
        if key is not None:
            if key in seen:
                skipped += 1
                continue
            seen.add(key)
            if not rescan and store.done(key, retry_failed):
                skipped += 1
                continue
        todo.append(ref)
    total_bytes = sum(r.size for r in todo)
    run_id = store.begin_run(engine.name, arguments or [], len(todo), skipped)
    counts: dict[str, Any] = {
        "planned": len(todo), "skipped": skipped, "done": 0, "failed": 0, "bytes": 0,
        "seconds": 0.0, "total_bytes": total_bytes, "worker_cpu": 0.0, "coordinator_cpu": 0.0}
    t0 = time.perf_counter()
    c0 = time.process_time()
    status = "interrupted"
    if progress:
        progress(0, len(todo), None, 0)
    try:
        for result in engine.run(todo, config):
            try:
                store.add(result, run_id)
            except sqlite3.Error as exc:  # e.g. the disk is full: stop cleanly, keep the rest
                with contextlib.suppress(sqlite3.Error):
                    store.db.execute("ROLLBACK")
                raise UsageError(f"{store.path}: cannot store results ({exc}); the run stops, "
                                 "what was stored is kept: run again to resume") from None
            counts["done"] += 1
            counts["bytes"] += result.size
            counts["worker_cpu"] += result.cpu
            if result.status != "ok":
                counts["failed"] += 1
            if progress:
                progress(counts["done"], len(todo), result, counts["bytes"])
        status = "finished"
    finally:
        counts["seconds"] = time.perf_counter() - t0
        counts["coordinator_cpu"] = time.process_time() - c0
        with contextlib.suppress(sqlite3.Error):
            store.end_run(run_id, status, counts["done"], counts["failed"], counts["bytes"])
    return counts


__all__ = [
    "Config",
    "DaskEngine",
    "Engine",
    "FetchError",
    "LocalEngine",
    "TaskTimeout",
    "fetch_deb",
    "fetch_debs",
    "identify",
    "make_engine",
    "new_scratch",
    "new_workdir",
    "run_census",
    "run_task",
    "stored_key",
]
