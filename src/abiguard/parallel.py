"""Work on many items with two processes that share what is already in memory.

A scan of hundreds of consumers resolves them one by one against files it has read and
indexed once (abiguard.resolve). :func:`run_shares` lets a child process made with
``fork()`` help: it starts with everything the parent has read (copy-on-write, nothing sent
to it) and works from the last item backwards while the parent works from the first one
forwards, until they meet -- wherever that is: a process slowed down by the rest of the
machine just does fewer items, and each keeps to one end of the list (neighbouring
consumers tend to load the same libraries, which each process then reads and indexes once).
The child sends each result back pickled as soon as it has it, in an anonymous file
(:func:`_scratch`; not through a pipe's 64 KiB: a few MB for a scan), and the parent
unpickles what came between its own items (:class:`_Answer`), so that this too is done while
both work; once they meet, the parent takes the child's last results, stops it and returns
every result in input order. :func:`run_shares_after` also runs a function on each
result right where it was computed, in either process, while a child helps (e.g. to write
its text there rather than later in the parent alone): its values come back aligned with
the results.

The results are those of the serial loop: the same function on the same items in the same
state, in each process. Where the two meet, both may compute the same item (each claims an
item in a shared page before computing it, without a lock): the parent's is kept. A child
that fails in any way (an exception, a signal, a short or corrupt answer) costs only time:
the parent then computes the items it did not get, and whatever error the function raises is
raised there as it would have been without a child.

Forking is for a single-threaded process (the command line): it is not done when other
threads run (a census worker), nor when the work is too small to pay for a process and for
pickling its results (at least :data:`MIN_SHARE_WEIGHT` for each of the two).
"""

from __future__ import annotations

import atexit
import io
import mmap
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
A = TypeVar("A")

MIN_SHARE_WEIGHT = 4000
"""The least weight (for a scan: imports, plus :data:`ITEM_WEIGHT` per consumer) worth a
process of its own: about 50 ms of resolving, against ~5 ms to fork and collect a child."""

ITEM_WEIGHT = 16
"""The weight of a consumer besides its imports (its load order, its libraries)."""

MAX_JOBS = 2
"""Processes a run uses at most: the parent and one child, from both ends of the list."""

_CLAIM = struct.Struct("=q")  # an aligned 8-byte store: whole, for the other process too


def cpu_count() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_jobs() -> int:
    """Processes a scan uses unless told (``--jobs``): two when this process may run on
    two CPUs or more and at least half a CPU is idle (the load average of the last minute
    below the CPUs less one half); else one. On a machine whose CPUs are all busy, a second
    process adds its overhead without the CPU to pay for it (measured: 1.0-1.5x the serial
    wall time at a load average of 2-3 on 2 CPUs). Only the time depends on it, never an
    answer."""
    cpus = cpu_count()
    if cpus < 2:
        return 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 1
    return MAX_JOBS if load <= cpus - 0.5 else 1


def other_threads() -> bool:
    """Whether threads other than this one run (``fork`` would keep only this one)."""
    threading = sys.modules.get("threading")  # (not imported: no thread was started)
    return threading is not None and threading.active_count() > 1


def share_count(weights: Sequence[int], jobs: int) -> int:
    """How many processes to use (1: the serial loop)."""
    if jobs <= 1 or not hasattr(os, "fork") or len(weights) < 2 or other_threads():
        return 1
    return max(1, min(jobs, MAX_JOBS, sum(weights) // MIN_SHARE_WEIGHT))


def _scratch() -> int:
    """An anonymous file (memfd, else an unlinked temporary file) for the child's answer."""
    try:
        return os.memfd_create("abiguard-share", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        import tempfile  # (not where memfd_create exists: Linux)

        fd, path = tempfile.mkstemp(prefix="abiguard-share-")
        os.unlink(path)
        return fd


def _child(work: Callable[[T], R], after: Callable[[R], Any] | None, items: Sequence[T],
           shared: Any, fd: int, wake: int, table: Mapping[type, Callable[[Any], Any]]
           ) -> None:
    """In the forked child: claim and compute items from the last one down until the
    parent's claims are reached. Each result (followed by ``after(result)`` when given) is
    pickled, appended to the scratch file ``fd`` and committed: the file's length so far is
    stored in the shared page, then a byte is written to the pipe ``wake`` (for a parent
    waiting on it). Exits (never returns; no cleanup of the parent's here): its end closes
    the pipe."""
    code = 1
    try:
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = table  # (one pickler: what results share is sent once)
        dump = pickler.dump
        j = len(items) - 1
        size = 0
        while j >= 1 and j >= _CLAIM.unpack_from(shared, 0)[0]:  # (the parent's next item)
            _CLAIM.pack_into(shared, 8, j)  # claimed: the parent stops before it
            result = work(items[j])
            dump(result)
            if after is not None:  # (after the result: what it shares with it is memoised)
                dump(after(result))
            view = buf.getbuffer()
            end = size + len(view)
            while size < end:
                size += os.pwrite(fd, view[size - end:], size)
            del view
            buf.seek(0)
            buf.truncate()
            _CLAIM.pack_into(shared, 16, size)  # committed: the parent may read up to here
            try:
                os.write(wake, b".")
            except OSError:  # (full: the parent has bytes to wake up to; gone: it is done)
                pass
            j -= 1
        code = 0
    except BaseException:  # noqa: BLE001 - the parent computes the items it did not get
        code = 1
    finally:
        os._exit(code)


class _Answer:
    """The child's results as it commits them, taken by the parent between its own items
    and at the end: ``got`` in the child's order (the last item first), each a tuple of the
    ``per_item`` values it pickled. A corrupt answer marks it ``broken`` (what was taken
    stays good: a result is taken whole or not at all)."""

    __slots__ = ("broken", "fd", "got", "have", "load", "per_item", "shared", "stream")

    def __init__(self, fd: int, shared: Any, per_item: int) -> None:
        self.fd = fd
        self.shared = shared
        self.per_item = per_item
        self.stream = io.BytesIO()
        self.load = pickle.Unpickler(self.stream).load
        self.have = 0
        self.got: list[tuple[Any, ...]] = []
        self.broken = False

    def take(self) -> None:
        """Unpickle what the child committed since the last call."""
        size = _CLAIM.unpack_from(self.shared, 16)[0]
        if size <= self.have or self.broken:
            return
        try:
            data = os.pread(self.fd, size - self.have, self.have)
            if len(data) != size - self.have:
                raise EOFError("short answer")
            stream = self.stream
            at = stream.tell()
            stream.seek(0, io.SEEK_END)
            stream.write(data)
            stream.seek(at)
            self.have = size
            load, per_item, got = self.load, self.per_item, self.got
            while stream.tell() < size:
                got.append(tuple([load() for _ in range(per_item)]))
        except Exception:  # noqa: BLE001 - a corrupt answer: the rest computed again
            self.broken = True

    def until(self, first: int, total: int, wake: int) -> None:
        """Take results until the child's reach down to item ``first`` of ``total``, or
        until it ended (``wake``: the pipe its commits write to and its end closes)."""
        while True:
            self.take()
            if total - len(self.got) <= first or self.broken:
                return
            try:
                if not os.read(wake, 1 << 12):  # (a commit, or its end)
                    self.take()  # (committed right before its end)
                    return
            except InterruptedError:  # pragma: no cover - PEP 475 retries
                continue


_ENDING: list[int] = []
"""Children stopped but not yet reaped: reaped by the next :func:`_end`, or when this
process exits (:func:`_reap`: so that their CPU time is counted as its children's)."""


@atexit.register
def _reap() -> None:
    """Wait for the children stopped and not reaped yet (at exit: long ended by then)."""
    while _ENDING:
        try:
            os.waitpid(_ENDING.pop(), 0)
        except ChildProcessError:  # (reaped elsewhere)
            pass


def _end(pid: int) -> None:
    """Stop the child (its answer is taken, or it is not wanted any more), without waiting
    for its memory to be given back (milliseconds for a scan's): reaped when it has ended,
    now, at the next call or at exit."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    _ENDING.append(pid)
    for child in list(_ENDING):
        try:
            done = os.waitpid(child, os.WNOHANG)[0] != 0
        except ChildProcessError:  # (reaped elsewhere)
            done = True
        if done:
            _ENDING.remove(child)


def run_shares(work: Callable[[T], R], items: Sequence[T], weights: Sequence[int], jobs: int,
               progress: Callable[[int, int, int], None] | None = None,
               pickling: Mapping[type, Callable[[Any], Any]] | None = None) -> list[R]:
    """``[work(x) for x in items]``, on up to ``jobs`` (at most :data:`MAX_JOBS`)
    processes (see the module's docstring); ``weights``: how much work each item is.
    ``progress(done, total, i)``: called before the parent's item ``i`` (``done`` counts the
    child's too), and with ``i == total`` at the end. ``pickling``: a pickle
    ``dispatch_table`` for the results (abiguard.fastnew.reducers). ``work`` must change
    nothing outside the process's memory: the child is killed once its results are in."""
    return _run(work, None, items, weights, jobs, progress, pickling)[0]


def run_shares_after(work: Callable[[T], R], after: Callable[[R], A], items: Sequence[T],
                     weights: Sequence[int], jobs: int,
                     progress: Callable[[int, int, int], None] | None = None,
                     pickling: Mapping[type, Callable[[Any], Any]] | None = None
                     ) -> tuple[list[R], list[A | None]]:
    """:func:`run_shares`, and ``after(result)`` right after each result of the shared
    loop, in the process that computed it (its share of a later step, done while both
    work): a child's sent back with the result (pickled by the same pickler: objects it
    shares with results already sent cost a reference). Returns the results and, aligned
    with them, those values; None where ``after`` was not run (the serial loop, a failed
    child's items, computed again by the parent alone). ``after`` must not change the
    result (the parent gets it as computed)."""
    return _run(work, after, items, weights, jobs, progress, pickling)


def _run(work: Callable[[T], R], after: Callable[[R], A] | None, items: Sequence[T],
         weights: Sequence[int], jobs: int, progress: Callable[[int, int, int], None] | None,
         pickling: Mapping[type, Callable[[Any], Any]] | None
         ) -> tuple[list[R], list[A | None]]:
    total = len(items)
    results: list[R] = []
    if share_count(weights, jobs) <= 1:
        for i, x in enumerate(items):
            if progress:
                progress(i, total, i)
            results.append(work(x))
        if progress:
            progress(total, total, total)
        return results, [None] * total
    shared = mmap.mmap(-1, 24)  # (anonymous, MAP_SHARED: each sees the other's stores)
    _CLAIM.pack_into(shared, 0, 0)  # the parent's next item
    _CLAIM.pack_into(shared, 8, total)  # the child's last claimed item
    _CLAIM.pack_into(shared, 16, 0)  # the bytes of the child's answer committed
    scratch = _scratch()
    try:
        r, w = os.pipe()
        pid = os.fork()
    except BaseException:
        os.close(scratch)
        raise
    if pid == 0:
        os.close(r)  # (w: closed by the child's end, which the parent sees)
        os.set_blocking(w, False)  # (a full pipe never stops the child)
        _child(work, after, items, shared, scratch, w, pickling or {})
    os.close(w)
    answer = _Answer(scratch, shared, 1 if after is None else 2)
    take = answer.take
    aside: list[A | None] = []
    try:
        i = 0
        while i < total:
            back = _CLAIM.unpack_from(shared, 8)[0]
            if i >= back:
                break
            _CLAIM.pack_into(shared, 0, i + 1)
            if progress:
                progress(i + total - back, total, i)
            res = work(items[i])
            results.append(res)
            aside.append(after(res) if after is not None else None)
            i += 1
            take()  # (what the child sent meanwhile: unpickled while both work)
        answer.until(i, total, r)
    finally:
        os.close(r)
        _end(pid)
        os.close(scratch)
        shared.close()
    theirs = answer.got
    theirs.reverse()  # (input order: item total - len(theirs) first)
    first = total - len(theirs)
    for sent in theirs[max(i - first, 0):]:  # (where both did an item: the parent's)
        results.append(sent[0])
        aside.append(sent[1] if after is not None else None)
    # what the child did not send (it failed): computed here, raising what it raises
    missing = range(i, max(first, i))
    results[i:i] = [work(items[k]) for k in missing]
    aside[i:i] = [None] * len(missing)
    if progress:
        progress(total, total, total)
    return results, aside


__all__ = ["ITEM_WEIGHT", "MAX_JOBS", "MIN_SHARE_WEIGHT", "cpu_count", "default_jobs",
           "other_threads", "run_shares", "run_shares_after", "share_count"]
