"""Two processes for a scan (abiguard.parallel).

A scan on two processes must give what one gives, byte for byte, and what ld.so gives
(tests/ldso_oracle.py); a child that fails must cost only time; the child must really have
done part of the work (else nothing here is tested).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time

import pytest

from abiguard import parallel
from abiguard.jsonform import Ahead, to_json
from abiguard.pipeline import ScanOptions, scan_paths
from abiguard.render import render
from helpers.ldso_oracle import LDSO, abiguard_bindings, compare, system_programs, trace

LD = LDSO[("x86_64", 64)]


def _who(x: int) -> tuple[int, int]:
    time.sleep(0.002)  # (so that the child, started a moment later, gets some items)
    return x * x, os.getpid()


def test_two_processes_give_the_serial_results_in_order(always_fork):
    items = list(range(200))
    out = parallel.run_shares(_who, items, [1] * len(items), 2)
    assert [r for r, _ in out] == [x * x for x in items]
    pids = [p for _, p in out]
    me = os.getpid()
    assert pids[0] == me
    child = [i for i, p in enumerate(pids) if p != me]
    assert child, "the child did nothing: nothing was tested"
    # each keeps to its end of the list: the parent's items first, then the child's
    assert child == list(range(child[0], len(items)))


def test_a_slow_side_does_fewer_items(always_fork):
    me = os.getpid()

    def slow_parent(x: int) -> tuple[int, int]:
        time.sleep(0.02 if os.getpid() == me else 0.001)
        return x, os.getpid()

    out = parallel.run_shares(slow_parent, list(range(120)), [1] * 120, 2)
    assert [r for r, _ in out] == list(range(120))
    assert sum(p == me for _, p in out) < 60


@pytest.mark.parametrize("how", ["raise", "signal", "exit"])
def test_a_failed_child_costs_only_time(always_fork, how):
    me = os.getpid()

    def work(x: int) -> int:
        if os.getpid() != me and x < 150:  # the child fails after some items
            if how == "raise":
                raise RuntimeError("child trouble")
            if how == "signal":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(3)
        time.sleep(0.001)
        return x + 1

    assert parallel.run_shares(work, list(range(200)), [1] * 200, 2) == \
        list(range(1, 201))


class _Unreadable:
    """Pickled in the child, cannot be unpickled in the parent."""

    def __init__(self, x: int) -> None:
        self.x = x

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_unreadable, (self.x,))


def _unreadable(x: int) -> _Unreadable:
    raise ValueError(f"answer {x} cannot be read")


def test_a_corrupt_answer_costs_only_time(always_fork):
    def work(x: int) -> _Unreadable:
        time.sleep(0.001)
        return _Unreadable(x)

    out = parallel.run_shares(work, list(range(100)), [1] * 100, 2)
    assert [r.x for r in out] == list(range(100))


def test_the_childs_results_are_taken_while_both_work(always_fork, monkeypatch):
    early: list[int] = []

    class Noting(parallel._Answer):
        def until(self, first: int, total: int, wake: int) -> None:
            early.append(len(self.got))  # (taken between the parent's items)
            super().until(first, total, wake)

    monkeypatch.setattr(parallel, "_Answer", Noting)
    out = parallel.run_shares(_who, list(range(200)), [1] * 200, 2)
    assert [r for r, _ in out] == [x * x for x in range(200)]
    child = sum(p != os.getpid() for _, p in out)
    assert child > 20 and early[0] >= child - 5  # all but the last few before the end


def test_an_error_is_raised_as_without_a_child(always_fork):
    def work(x: int) -> int:
        time.sleep(0.001)
        if x == 150:
            raise ValueError("item 150")
        return x

    with pytest.raises(ValueError, match="item 150"):
        parallel.run_shares(work, list(range(200)), [1] * 200, 2)


def test_when_not_to_fork(always_fork):
    assert parallel.share_count([1] * 10, 1) == 1
    assert parallel.share_count([1], 2) == 1
    assert parallel.share_count([1] * 10, 8) == parallel.MAX_JOBS


def test_another_thread_keeps_it_serial(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_SHARE_WEIGHT", 1)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:  # another thread runs: fork would keep only this one
        assert parallel.other_threads()
        assert parallel.share_count([1] * 10, 2) == 1
    finally:
        stop.set()
        t.join()


def test_too_little_work_stays_serial(monkeypatch):
    monkeypatch.setattr(parallel, "other_threads", lambda: False)
    assert parallel.share_count([10] * 10, 2) == 1
    assert parallel.share_count([parallel.MIN_SHARE_WEIGHT] * 2, 2) == 2


def test_progress_counts_both_processes(always_fork):
    seen: list[tuple[int, int, int]] = []
    parallel.run_shares(_who, list(range(100)), [1] * 100, 2,
                        lambda done, total, i: seen.append((done, total, i)))
    assert seen[-1] == (100, 100, 100)
    dones = [d for d, _, _ in seen]
    assert dones == sorted(dones) and all(t == 100 for _, t, _ in seen)


def test_after_runs_in_the_child_on_its_results(always_fork):
    me = os.getpid()
    items = list(range(200))
    out, aside = parallel.run_shares_after(_who, lambda r: (r[0] + 1, os.getpid()), items,
                                           [1] * len(items), 2)
    assert [r for r, _ in out] == [x * x for x in items]
    assert len(aside) == len(out)
    child = [i for i, (_, p) in enumerate(out) if p != me]
    assert child, "the child did nothing: nothing was tested"
    for (r, pid), a in zip(out, aside):
        assert a == (r + 1, pid)  # run where the result was computed, in either process


def test_after_shares_the_results_objects(always_fork):
    """What ``after`` gives is pickled with the result: an object of both arrives once."""
    items = list(range(100))
    out, aside = parallel.run_shares_after(lambda x: (time.sleep(0.002), [x])[1],
                                           lambda r: ("seen", r), items, [1] * 100, 2)
    assert out == [[x] for x in items]
    sent = [(r, a) for r, a in zip(out, aside) if a is not None]
    assert sent, "the child did nothing: nothing was tested"
    assert all(a[1] is r for r, a in sent)


def test_after_without_a_child_is_not_run(always_fork):
    for items, jobs in (([1, 2, 3], 1), ([1], 2)):  # (one item: never forked)
        out, aside = parallel.run_shares_after(lambda x: x, lambda r: 1 / 0, items,
                                               [1] * len(items), jobs)
        assert out == items and aside == [None] * len(items)


@pytest.mark.parametrize("where", ["work", "after"])
def test_after_in_a_failed_child_costs_only_time(always_fork, where):
    me = os.getpid()

    def trouble(x: int) -> int:
        if os.getpid() != me and x < 150:
            raise RuntimeError("child trouble")
        time.sleep(0.001)
        return x

    work, after = (trouble, str) if where == "work" else (lambda x: (time.sleep(0.001), x)[1],
                                                           trouble)
    out, aside = parallel.run_shares_after(work, after, list(range(200)), [1] * 200, 2)
    assert out == list(range(200))
    # after's values where either process computed an item (the child's sent before it
    # failed are kept); the items between, computed again by the parent alone, have none
    again = [x for x, a in enumerate(aside) if a is None]
    assert again, "the child did not fail: nothing was tested"
    assert again == list(range(again[0], again[-1] + 1)) and 0 < again[0] and again[-1] < 199
    assert all(a == after(x) for x, a in enumerate(aside) if a is not None)


# --------------------------------------------------------------------------------------------
# A scan on two processes
# --------------------------------------------------------------------------------------------



def test_a_two_process_scan_is_the_serial_scan_and_ldsos(always_fork, monkeypatch):
    files = system_programs(60)
    assert len(files) >= 20
    children: list[int] = []

    class Counting(parallel._Answer):
        def until(self, first: int, total: int, wake: int) -> None:
            super().until(first, total, wake)
            children.append(-1 if self.broken else len(self.got))

    monkeypatch.setattr(parallel, "_Answer", Counting)
    two = scan_paths(files, ScanOptions(jobs=2))
    assert children and children[0] > 0, "the child resolved nothing: nothing was tested"
    one = scan_paths(files, ScanOptions(jobs=1))
    assert render(two, "json") == render(one, "json")
    assert [c.path for c in two.consumers] == files
    traced = 0
    for c in two.consumers[-children[0]:]:  # the child's consumers, against ld.so
        t = trace(c.path, LD)
        if t.error is not None:
            continue
        traced += 1
        missed, extra = compare(abiguard_bindings(c.bindings), t.bound)
        assert not missed and not extra, (c.path, sorted(missed)[:5], sorted(extra)[:5])
    assert traced


def test_the_childs_json_is_written_ahead_and_is_todays(always_fork):
    """``scan --format json``: the child writes the JSON of its consumers as it resolves
    them (jsonform.Ahead); the document is byte for byte the serial scan's."""
    files = system_programs(60)
    ahead = Ahead()
    two = scan_paths(files, ScanOptions(jobs=2), alongside=ahead)
    pieces = ahead.pieces
    assert id(two.consumers[-1]) in pieces, "the child wrote nothing ahead: nothing was tested"
    assert all(pieces[k][0] is c for c in two.consumers if (k := id(c)) in pieces)
    one = scan_paths(files, ScanOptions(jobs=1))
    assert to_json(two, ahead=ahead) == to_json(one) == render(one, "json")
    serial = Ahead()
    scan_paths(files, ScanOptions(jobs=1), alongside=serial)
    assert not serial.pieces  # (one process: written at the end, as before)


def test_input_errors_keep_their_place(always_fork, tmp_path):
    files = system_programs(30)
    bad = tmp_path / "bad.so"
    bad.write_bytes(b"\x7fELF" + b"\0" * 12)
    audit = scan_paths([*files[:15], str(bad), *files[15:]], ScanOptions(jobs=2))
    assert [e.path for e in audit.errors] == [str(bad)]
    assert [c.path for c in audit.consumers] == files


def test_default_jobs_follows_the_idle_cpus(monkeypatch):
    monkeypatch.setattr(parallel, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 1.0, 1.0))
    assert parallel.default_jobs() == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (2.3, 1.0, 1.0))
    assert parallel.default_jobs() == 1
    monkeypatch.setattr(parallel, "cpu_count", lambda: 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert parallel.default_jobs() == 1


def test_the_answer_comes_in_a_file_that_is_closed_after(always_fork):
    """The child's answer (megabytes for a scan) is written to an anonymous file, not
    pushed through a pipe; the parent closes it and the pipe, whatever the child did."""
    def ours() -> set[str]:  # (the pipes and the answer's file this process holds)
        out = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:  # (the listing's own, closed meanwhile)
                continue
            if target.startswith(("pipe:", "/memfd:abiguard-share")):
                out.add(f"{fd} {target}")
        return out

    before = ours()
    big = ["x" * 100_000] * 3  # (more than a pipe holds, shared by every result)
    out = parallel.run_shares(lambda x: (x, big), list(range(60)), [1] * 60, 2)
    assert [x for x, _ in out] == list(range(60)) and all(b == big for _, b in out)

    me = os.getpid()

    def failing(x: int) -> int:
        if os.getpid() != me:
            os._exit(3)
        time.sleep(0.001)
        return x

    assert parallel.run_shares(failing, list(range(60)), [1] * 60, 2) == list(range(60))
    assert ours() == before


def test_a_child_is_stopped_at_once_and_reaped_later(always_fork):
    """The parent does not wait for its child's memory to be given back: the child is
    killed once its answer is in and reaped at the next share; children never pile up."""
    def state(pid: int) -> str:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return "gone"

    for _ in range(4):
        out = parallel.run_shares(_who, list(range(60)), [1] * 60, 2)
        pids = {p for _, p in out} - {os.getpid()}
        assert len(pids) == 1, "the child did nothing: nothing was tested"
        child = pids.pop()
        deadline = time.monotonic() + 5
        while state(child) not in ("Z", "gone"):
            assert time.monotonic() < deadline, "the child still runs"
            time.sleep(0.01)
        assert len(parallel._ENDING) <= 1


def test_a_child_left_ending_is_reaped_at_exit(always_fork):
    """A command's child is reaped before it exits: no zombie outlives it, and the child's
    CPU time is counted as the command's children's."""
    code = (
        "import os, resource, time\n"
        "from abiguard import parallel\n"
        "parallel.MIN_SHARE_WEIGHT = 1\n"
        "def work(x):\n"
        "    t = time.process_time()\n"
        "    while time.process_time() - t < 0.002: pass\n"
        "    return x, os.getpid()\n"
        "out = parallel.run_shares(work, list(range(100)), [1] * 100, 2)\n"
        "print(len({p for _, p in out}), len(parallel._ENDING))\n")
    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    before = cpu()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.split()[0] == "2", "the child did nothing: nothing was tested"
    used = cpu() - before
    assert used >= 0.15  # both processes' busy loops (0.2 s): the grandchild was reaped
