"""Two processes for a scan (abiguard.parallel), the fast constructors and pickling they use
(abiguard.fastnew), and the imports as keys (SymbolTable.keys).

A scan on two processes must give what one gives, byte for byte, and what ld.so gives
(tests/ldso_oracle.py); a child that fails must cost only time; the child must really have
done part of the work (else nothing here is tested).
"""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import signal
import threading
import time
from pathlib import Path

import pytest

from abiguard import parallel
from abiguard.elf import read_elf
from abiguard.fastnew import maker, rebuild, reducers
from abiguard.model import (
    Binding,
    Consumer,
    ElfSymbol,
    Evidence,
    InputError,
    Library,
    Stability,
    SymbolRef,
    SymbolTable,
)
from abiguard.pipeline import ScanOptions, scan_paths
from abiguard.render import render
from elfbuild import Exp, Imp, Spec, build_elf
from ldso_oracle import LDSO, abiguard_bindings, compare, trace

LD = LDSO[("x86_64", 64)]


@pytest.fixture
def always_fork(monkeypatch):
    """Fork whatever the amount of work (the tests' lists are small)."""
    monkeypatch.setattr(parallel, "MIN_SHARE_WEIGHT", 1)


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
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:  # another thread runs: fork would keep only this one
        assert parallel.share_count([1] * 10, 2) == 1
    finally:
        stop.set()
        t.join()


def test_too_little_work_stays_serial():
    assert parallel.share_count([10] * 10, 2) == 1
    assert parallel.share_count([parallel.MIN_SHARE_WEIGHT] * 2, 2) == 2


def test_progress_counts_both_processes(always_fork):
    seen: list[tuple[int, int, int]] = []
    parallel.run_shares(_who, list(range(100)), [1] * 100, 2,
                        lambda done, total, i: seen.append((done, total, i)))
    assert seen[-1] == (100, 100, 100)
    dones = [d for d, _, _ in seen]
    assert dones == sorted(dones) and all(t == 100 for _, t, _ in seen)


# --------------------------------------------------------------------------------------------
# A scan on two processes
# --------------------------------------------------------------------------------------------


def _system_programs(n: int) -> list[str]:
    out = []
    for p in sorted(Path("/usr/bin").iterdir()):
        try:
            if p.is_symlink() or not p.is_file() or p.stat().st_size > 4 << 20:
                continue
            with open(p, "rb") as fh:
                if fh.read(4) != b"\x7fELF":
                    continue
        except OSError:
            continue
        out.append(str(p))
        if len(out) == n:
            break
    return out


@pytest.mark.skipif(not os.path.exists(LD), reason="needs x86-64 ld.so")
def test_a_two_process_scan_is_the_serial_scan_and_ldsos(always_fork, monkeypatch):
    files = _system_programs(60)
    assert len(files) >= 20
    children: list[int] = []
    collect = parallel._collect

    def counting(pid: int, fd: int):  # type: ignore[no-untyped-def]
        got = collect(pid, fd)
        children.append(len(got[1]) if got else -1)
        return got

    monkeypatch.setattr(parallel, "_collect", counting)
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


def test_input_errors_keep_their_place(always_fork, tmp_path):
    files = _system_programs(30)
    bad = tmp_path / "bad.so"
    bad.write_bytes(b"\x7fELF" + b"\0" * 12)
    audit = scan_paths([*files[:15], str(bad), *files[15:]], ScanOptions(jobs=2))
    assert [e.path for e in audit.errors] == [str(bad)]
    assert [c.path for c in audit.consumers] == files


# --------------------------------------------------------------------------------------------
# fastnew
# --------------------------------------------------------------------------------------------


def _binding() -> Binding:
    ev = (Evidence("policy", "declared", Stability.UNSTABLE, "x.toml"),)
    return Binding(SymbolRef("f", "V_1"), "FUNC", False, "bound", provider="libx.so.1",
                   provider_path="/lib/libx.so.1", provided_version="V_1", reason=None,
                   stability=Stability.UNSTABLE, evidence=ev, copy=None)


@pytest.mark.parametrize("cls", [Binding, SymbolRef, ElfSymbol, Library, Consumer, Evidence])
def test_maker_makes_what_the_class_makes(cls):
    make = maker(cls)
    assert make is not cls  # (the model's classes are all slotted and frozen)
    b = _binding()
    values = {
        Binding: tuple(getattr(b, f.name) for f in dataclasses.fields(Binding)),
        SymbolRef: ("f", None),
        ElfSymbol: ("n", "V", True, "WEAK", "FUNC", "PROTECTED", True, 1, 2, "f", 3),
        Library: ("libx.so.1", "/lib/libx.so.1", "libx.so.1", "default", "", 1,
                  Stability.STABLE, b.evidence, ("V_1",)),
        Consumer: ("/bin/x", "EXEC", "x86_64", 64, None, "/bin", None, ("libx.so.1",), (),
                   (b,), None),
        Evidence: ("policy", "d", Stability.STABLE, None),
    }[cls]
    made, ref = make(*values), cls(*values)
    assert type(made) is cls
    assert made == ref and hash(made) == hash(ref) and repr(made) == repr(ref)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(dataclasses.fields(cls)[0].name, None)


def test_maker_leaves_classes_the_trick_does_not_fit():
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("a < 0")

    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(Base):
        b: int = 0

    for cls in (NoSlots, Checked, Derived):
        assert maker(cls) is cls
    with pytest.raises(ValueError):
        maker(Checked)(-1)


def test_reducers_round_trip_with_sharing():
    b = _binding()
    lib = Library("libx.so.1", "/lib/libx.so.1", "libx.so.1", stability=Stability.UNSTABLE,
                  evidence=b.evidence)
    consumers = [Consumer("/bin/a", "EXEC", "x86_64", libraries=(lib,), bindings=(b, b)),
                 Consumer("/bin/b", "EXEC", "x86_64", libraries=(lib,), bindings=(b,)),
                 InputError("/bin/c", "truncated")]
    buf = io.BytesIO()
    p = pickle.Pickler(buf, pickle.HIGHEST_PROTOCOL)
    p.dispatch_table = reducers((Consumer, Library, Binding, SymbolRef, Evidence, InputError))
    p.dump(consumers)
    data = buf.getvalue()
    assert b"rebuild" in data  # (through the fast path)
    back = pickle.loads(data)
    assert back == consumers
    assert back[0].bindings[0] is back[0].bindings[1] is back[1].bindings[0]
    assert back[0].libraries[0].evidence is back[0].bindings[0].evidence
    assert rebuild(SymbolRef, ("g", None)) == SymbolRef("g", None)


# --------------------------------------------------------------------------------------------
# SymbolTable.keys: the imports (and exports) without building them
# --------------------------------------------------------------------------------------------


def _keys_of(table: SymbolTable) -> tuple[list[tuple[object, ...]], set[int]]:
    return ([(s.name, s.version, s.hidden, s.binding, s.type) for s in table],
            {i for i, s in enumerate(table) if s.value})


def _hand(bits: int, big: bool) -> bytes:
    machine = {(32, False): 3, (64, False): 62, (32, True): 20, (64, True): 22}[(bits, big)]
    return build_elf(Spec(
        bits=bits, big=big, machine=machine, needed=("libc.so.6", "libm.so.6"),
        imports=[Imp("puts", "GLIBC_2.0", "libc.so.6"), Imp("weakfn", weak=True),
                 Imp("cos", "GLIBC_2.1", "libm.so.6"), Imp("e", "GLIBC_2.1", "libc.so.6",
                                                          type=6, hidden=True)],
        exports=[Exp("a", "HAND_1.0"), Exp("b", "HAND_2.0", value=0), Exp("old", "HAND_1.0",
                                                                          hidden=True),
                 Exp("obj", type=1, size=8, value=0x2000), Exp("u", bind=10, type=10)],
        verdefs=[("HAND_1.0", []), ("HAND_2.0", ["HAND_1.0"])], weak_versions=["GLIBC_2.1"],
        locals=["loc"])).data


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("big", [False, True], ids=["le", "be"])
def test_keys_of_hand_built_tables(bits, big):
    o = read_elf("hand.so", _hand(bits, big))
    for table in (o.imports, o.exports):
        keys = table.keys()
        assert keys == _keys_of(table)
        assert keys == _keys_of(SymbolTable(tuple(table)))  # (a table of given symbols)
    assert o.exports.keys()[1] == {0, 2, 3, 4}  # every export but b has a value
    assert ("e", "GLIBC_2.1", True, "GLOBAL", "TLS") in o.imports.keys()[0]


def test_keys_of_system_files():
    for path in _system_programs(80) + ["/lib/x86_64-linux-gnu/libc.so.6"]:
        o = read_elf(path)
        for table in (o.imports, o.exports):
            fresh = read_elf(path)  # (keys first, on a table nothing was built from)
            assert (fresh.imports if table is o.imports else fresh.exports).keys() == \
                _keys_of(table)
    assert len(read_elf("/lib/x86_64-linux-gnu/libc.so.6").exports.keys()[0]) > 1000


def test_default_jobs_follows_the_idle_cpus(monkeypatch):
    monkeypatch.setattr(parallel, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 1.0, 1.0))
    assert parallel.default_jobs() == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (2.3, 1.0, 1.0))
    assert parallel.default_jobs() == 1
    monkeypatch.setattr(parallel, "cpu_count", lambda: 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert parallel.default_jobs() == 1
