"""Work on many items with several processes that share what is already in memory.

A scan of hundreds of consumers resolves them one by one against files it has read and
indexed once (abiguard.resolve). :func:`run_shares` splits such a list into contiguous shares
by weight and hands all but the first to child processes made with ``fork()``: they start
with everything the parent has read (copy-on-write, nothing sent to them), compute their
share and send the results back pickled through a pipe; the parent computes the first share
meanwhile and returns every result in input order. The results are those of the serial loop:
the same function on the same items in the same state, in each process; a child that fails in
any way (an exception, a signal, a short or corrupt answer) costs only time -- the parent then
computes that share itself, and whatever error the function raises is raised there as it
would have been without children.

Forking is for a single-threaded process (the command line): callers that run in threads (a
census worker) keep ``jobs=1``. Shares are only made when there is enough work to pay for a
process, its results' pickling (~20% of the time it took to compute them) and their
unpickling in the parent (~20%, serial): at least :data:`MIN_SHARE_WEIGHT` per share.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_SHARE_WEIGHT = 4000
"""The least weight (for a scan: imports, plus :data:`ITEM_WEIGHT` per consumer) worth a
process of its own: about 50 ms of resolving, against ~5 ms to fork and collect a child."""

ITEM_WEIGHT = 16
"""The weight of a consumer besides its imports (its load order, its libraries)."""

PARENT_EXTRA = 0.2
"""The parent's share is this much heavier than a child's: a child pickles its results
while the parent computes, and the parent unpickles them after."""


def cpu_count() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def share_count(weights: Sequence[int], jobs: int) -> int:
    """How many processes to use (1: the serial loop)."""
    if jobs <= 1 or not hasattr(os, "fork") or len(weights) < 2 \
            or threading.active_count() > 1:  # (fork keeps only this thread)
        return 1
    return max(1, min(jobs, len(weights), sum(weights) // MIN_SHARE_WEIGHT))


def split(weights: Sequence[int], n: int, parent_extra: float = PARENT_EXTRA) -> list[range]:
    """``n`` contiguous, non-empty ranges of the items covering them all, in order, of about
    equal weight (the first ``parent_extra`` heavier)."""
    n = max(1, min(n, len(weights)))
    total = sum(weights)
    unit = total / (n + parent_extra) if total else 0.0
    bounds = [0]
    acc = 0
    goal = unit * (1 + parent_extra)
    for i, w in enumerate(weights):
        if len(bounds) == n:
            break
        acc += w
        left = len(weights) - (i + 1)  # items after this one
        if (acc >= goal or left == n - len(bounds)) and left >= n - len(bounds):
            bounds.append(i + 1)
            goal += unit
    bounds.append(len(weights))
    return [range(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


def _child(work: Callable[[T], R], items: Sequence[T], share: range, fd: int,
           table: Mapping[type, Callable[[Any], Any]]) -> None:
    """In a forked child: compute the share, write it pickled to ``fd``, exit (never
    returns; no cleanup of the parent's runs here: os._exit)."""
    import io
    import pickle

    code = 1
    try:
        results = [work(items[i]) for i in share]
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = table  # type: ignore[assignment]
        pickler.dump(results)
        view = buf.getbuffer()
        while view:
            view = view[os.write(fd, view):]
        code = 0
    except BaseException:  # noqa: BLE001 - the parent computes the share again
        code = 1
    finally:
        os._exit(code)


def _collect(pid: int, fd: int) -> list[object] | None:
    """A child's results (None when it failed)."""
    import pickle  # (only when there are children)

    chunks = []
    try:
        with os.fdopen(fd, "rb") as fh:
            while chunk := fh.read(1 << 20):
                chunks.append(chunk)
    except BaseException:  # (interrupted: the child must not outlive us)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        out = pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 - a corrupt answer: computed again
        return None
    return out if isinstance(out, list) else None


def run_shares(work: Callable[[T], R], items: Sequence[T], weights: Sequence[int], jobs: int,
               progress: Callable[[int, int, int], None] | None = None,
               pickling: Mapping[type, Callable[[Any], Any]] | None = None) -> list[R]:
    """``[work(x) for x in items]``, on up to ``jobs`` processes (see the module's
    docstring). ``progress(done, total, i)``: called before item ``i`` of the parent's own
    share (``done`` scaled to the whole: the children go at about the same pace), and with
    ``i == total`` at the end. ``pickling``: a pickle ``dispatch_table`` for the results
    (abiguard.fastnew.reducers)."""
    total = len(items)
    n = share_count(weights, jobs)
    if n <= 1:
        out = []
        for i, x in enumerate(items):
            if progress:
                progress(i, total, i)
            out.append(work(x))
        if progress:
            progress(total, total, total)
        return out
    shares = split(weights, n)
    children: list[tuple[range, int, int]] = []  # (share, pid, read end)
    try:
        for share in shares[1:]:
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child
                os.close(r)
                for _s, _p, fd in children:
                    os.close(fd)
                _child(work, items, share, w, pickling or {})
            os.close(w)
            children.append((share, pid, r))
        mine = shares[0]
        results: list[R] = []
        for i in mine:
            if progress:
                progress(i * total // len(mine), total, i)
            results.append(work(items[i]))
        while children:
            share, pid, fd = children.pop(0)
            got = _collect(pid, fd)
            if got is None or len(got) != len(share):
                got = [work(items[i]) for i in share]  # (raises what the child met)
            results.extend(got)  # type: ignore[arg-type]
    finally:
        for _share, pid, fd in children:  # interrupted: no child outlives the parent
            try:
                os.close(fd)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
    if progress:
        progress(total, total, total)
    return results


__all__ = ["ITEM_WEIGHT", "MIN_SHARE_WEIGHT", "cpu_count", "run_shares", "share_count",
           "split"]
