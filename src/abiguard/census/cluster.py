"""The Dask engine: a Dask distributed cluster (``--scheduler tcp://HOST:PORT``, or a
``distributed.Client``/``LocalCluster`` given by a program).

Packages are submitted through a bounded window (2x the cluster's threads), so the
coordinator's memory does not grow with the number of packages; a timeout is enforced inside
the task (a worker thread cannot be killed: :class:`~abiguard.census.watchdog.Watchdog`); a
package whose workers keep dying ends as ``KilledWorker`` -> ``crash``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from ..errors import UsageError
from ..sources import PackageRef
from .config import Config
from .store import FailureKind, Result
from .task import failure, run_task


class DaskEngine:
    """A Dask distributed cluster: a scheduler address or a Client/cluster object."""

    name = "dask"

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def describe(self) -> str:
        return f"dask cluster {getattr(self.scheduler, 'scheduler_address', self.scheduler)}"

    def _client(self) -> tuple[Any, bool]:
        try:
            import distributed  # optional: abiguard[census]
        except ImportError:
            raise UsageError("--scheduler needs Dask: pip install 'abiguard[census]'") from None
        dist: Any = distributed  # untyped
        Client = dist.Client
        if isinstance(self.scheduler, Client):
            return self.scheduler, False
        if hasattr(self.scheduler, "scheduler_address"):  # a LocalCluster or similar
            return Client(self.scheduler, set_as_default=False), True
        try:
            return Client(self.scheduler, timeout="20s", set_as_default=False), True
        except OSError as exc:
            raise UsageError(f"--scheduler {self.scheduler}: cannot connect ({exc})") from None

    def run(self, refs: Iterable[PackageRef], config: Config) -> Iterator[Result]:
        import distributed  # optional: abiguard[census]

        dist: Any = distributed  # untyped
        client, own = self._client()
        config = replace(config, watchdog=True)
        futures: dict[str, tuple[Any, PackageRef, float]] = {}
        try:
            nthreads = sum(client.nthreads().values()) or 1
            window = max(2, 2 * nthreads)
            cfg = client.scatter(config, broadcast=True, hash=False)
            todo = iter(refs)

            def submit() -> Any:
                ref = next(todo, None)
                if ref is None:
                    return None
                fut = client.submit(run_task, ref, cfg, pure=False,
                                    key=f"census-{ref.name}-{os.urandom(6).hex()}")
                futures[fut.key] = (fut, ref, time.monotonic())
                return fut

            first = [f for f in (submit() for _ in range(window)) if f is not None]
            if not first:
                return
            ac: Any = dist.as_completed(first, loop=client.loop)
            for fut in ac:
                _, ref, started = futures.pop(fut.key)
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 — KilledWorker, CancelledError, …
                    kind: FailureKind = ("crash" if type(exc).__name__ == "KilledWorker"
                                         else "error")
                    result = failure(ref, kind, f"{type(exc).__name__}: {exc}",
                                     seconds=time.monotonic() - started)
                fut.release()
                yield result
                nxt = submit()
                if nxt is not None:
                    ac.add(nxt)
        finally:
            for fut, _, _ in futures.values():
                fut.cancel()
            if own:
                client.close()


__all__ = ["DaskEngine"]
