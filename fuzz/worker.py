"""One fuzzing worker process (started by :mod:`fuzz.run`; not meant to be run by hand).

The worker runs inputs of one target and keeps its counters, the input it is running and
when that started in a small shared file (:class:`State`), so that the supervisor can see a
hang in C code that no signal handler would interrupt, kill the worker, keep the input and
start a new worker at the next one. Unhandled exceptions, invariant violations and soft
hangs (over the per-input time limit, interrupted by SIGALRM) are recorded in
``OUT/findings.jsonl`` with the input saved next to it; the campaign goes on.

Engines: ``random`` (the built-in structure-aware mutators, input *i* made from
``Random((seed, target, i))``: any input of a campaign can be remade) and ``atheris``
(coverage-guided libFuzzer, the same mutators as its custom mutator).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import os
import random
import re
import resource
import signal
import struct
import sys
import time
import traceback
from pathlib import Path

MAGIC = b"abgfuzz1"
HDR = struct.Struct("<8sQQQQQQQQQQ")
# magic, done, ok, rejected, unhandled, soft_hangs, running, started_ns, length, index, spare
MAX_INPUT = 32 << 20
STATE_SIZE = HDR.size + MAX_INPUT


class InputTimeout(BaseException):
    """Raised by SIGALRM in an input that ran over the per-input time limit (a
    BaseException, so that no ``except Exception`` of the code under test swallows it)."""


class State:
    """The shared state file (created by the supervisor, updated by the worker)."""

    def __init__(self, path: str, create: bool = False) -> None:
        self.path = path
        if create:
            with open(path, "wb") as fh:
                fh.truncate(STATE_SIZE)
                fh.seek(0)
                fh.write(HDR.pack(MAGIC, *([0] * 10)))
        self.fd = os.open(path, os.O_RDWR)
        self.mm = mmap.mmap(self.fd, STATE_SIZE)

    def read(self) -> dict[str, int]:
        (_, done, ok, rejected, unhandled, soft, running, started, length, index,
         _spare) = HDR.unpack_from(self.mm, 0)
        return {"done": done, "ok": ok, "rejected": rejected, "unhandled": unhandled,
                "soft_hangs": soft, "running": running, "started_ns": started,
                "length": length, "index": index}

    def input(self) -> bytes:
        n = min(self.read()["length"], MAX_INPUT)
        return bytes(self.mm[HDR.size:HDR.size + n])

    def begin(self, index: int, data: bytes) -> None:
        n = min(len(data), MAX_INPUT)
        self.mm[HDR.size:HDR.size + n] = data[:n]
        s = self.read()
        HDR.pack_into(self.mm, 0, MAGIC, s["done"], s["ok"], s["rejected"], s["unhandled"],
                      s["soft_hangs"], 1, time.monotonic_ns(), len(data), index, 0)

    def end(self, outcome: str) -> None:
        s = self.read()
        s["done"] += 1
        key = {"ok": "ok", "rejected": "rejected", "hang": "soft_hangs"}.get(outcome, "unhandled")
        s[key] += 1
        HDR.pack_into(self.mm, 0, MAGIC, s["done"], s["ok"], s["rejected"], s["unhandled"],
                      s["soft_hangs"], 0, s["started_ns"], s["length"], s["index"], 0)

    def close(self) -> None:
        self.mm.close()
        os.close(self.fd)


def signature(exc: BaseException) -> str:
    """Type and place of an exception: the innermost frame, and the innermost abiguard
    frame when that is another one (one signature per bug, not per input)."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return type(exc).__name__
    last = tb[-1]
    ours = next((f for f in reversed(tb) if "/abiguard/" in f.filename), None)
    where = f"{os.path.basename(last.filename)}:{last.lineno}"
    if ours is not None and ours is not last:
        where = f"{os.path.basename(ours.filename)}:{ours.lineno} -> {where}"
    return f"{type(exc).__name__} at {where}"


class Recorder:
    """Writes findings (one JSON line each) and keeps a few inputs per signature."""

    def __init__(self, out: Path, keep: int = 3) -> None:
        self.out = out
        (out / "findings").mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.counts: dict[str, int] = {}

    def record(self, kind: str, sig: str, data: bytes, index: int, message: str = "",
               tb: str = "") -> None:
        n = self.counts.get(sig, 0)
        self.counts[sig] = n + 1
        if n >= self.keep:
            return
        slug = re.sub(r"[^A-Za-z0-9]+", "-", sig).strip("-")[:60]
        digest = hashlib.sha1(data).hexdigest()[:12]
        name = f"{kind}-{slug}-{digest}.bin"
        (self.out / "findings" / name).write_bytes(data)
        line = {"kind": kind, "signature": sig, "index": index, "input": f"findings/{name}",
                "size": len(data), "message": message[:500], "traceback": tb[-4000:]}
        with open(self.out / "findings.jsonl", "a") as fh:
            fh.write(json.dumps(line) + "\n")


def _selftest() -> dict[int, str]:
    """Test hook (tests/integration/test_fuzz.py): ``ABIGUARD_FUZZ_SELFTEST=block:2,raise:4`` makes input
    2 hang with SIGALRM blocked (as in C code) and input 4 raise."""
    out = {}
    for item in filter(None, os.environ.get("ABIGUARD_FUZZ_SELFTEST", "").split(",")):
        what, _, index = item.partition(":")
        out[int(index)] = what
    return out


def _selftest_run(what: str) -> str:
    if what == "block":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(3600)
    raise RuntimeError(f"selftest: {what}")


class Runner:
    def __init__(self, target: str, state: State, out: Path, time_limit: float) -> None:
        from .targets import TARGETS

        self.run = TARGETS[target].run
        self.selftest = _selftest()
        self.state = state
        self.rec = Recorder(out)
        self.time_limit = time_limit
        signal.signal(signal.SIGALRM, self._alarm)

    @staticmethod
    def _alarm(*_: object) -> None:
        raise InputTimeout()

    def one(self, index: int, data: bytes) -> str:
        from .targets import InvariantError

        self.state.begin(index, data)
        outcome = "unhandled"
        signal.setitimer(signal.ITIMER_REAL, self.time_limit)
        try:
            try:
                if index in self.selftest:
                    _selftest_run(self.selftest[index])
                outcome = self.run(data)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except InputTimeout:
            outcome = "hang"
            self.rec.record("hang", f"over {self.time_limit:g} s", data, index)
        except InvariantError as exc:
            outcome = "invariant"
            self.rec.record("invariant", f"invariant: {str(exc)[:80]}", data, index, str(exc),
                            traceback.format_exc())
        except RecursionError as exc:
            self.rec.record("unhandled", signature(exc), data, index, str(exc)[:200],
                            traceback.format_exc(limit=-30))
        except Exception as exc:  # noqa: BLE001 - the point: anything else is a finding
            self.rec.record("unhandled", signature(exc), data, index, str(exc),
                            traceback.format_exc())
        self.state.end(outcome)
        return outcome


def _limit_memory(mb: int) -> None:
    if mb > 0:
        limit = mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_random(args: argparse.Namespace, runner: Runner) -> None:
    from .targets import Campaign

    camp = Campaign(args.target, args.max_seed_size)
    for i in range(args.start, args.start + args.count):
        r = random.Random(f"{args.seed}/{args.target}/{i}")
        try:
            data = camp.make_input(r)
        except (Exception, RecursionError) as exc:  # noqa: BLE001 - a mutator bug: log, go on
            print(f"input {i}: mutator failed: {type(exc).__name__}: {exc}"[:300],
                  file=sys.stderr)
            data = camp.seeds[i % len(camp.seeds)].data
        runner.one(i, data)


def run_atheris(args: argparse.Namespace, out: Path, state: State) -> None:
    import atheris

    with atheris.instrument_imports(include=["abiguard", "tomllib", "tarfile"]):
        import tarfile  # noqa: F401
        import tomllib  # noqa: F401

        import abiguard.census.aggregate
        import abiguard.compare
        import abiguard.elf
        import abiguard.inputs
        import abiguard.model
        import abiguard.policy
        import abiguard.remedies
        import abiguard.results  # noqa: F401
    from .targets import Campaign

    runner = Runner(args.target, state, out, args.time_limit)
    camp = Campaign(args.target, args.max_seed_size)
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        for s in camp.seeds:
            (corpus / hashlib.sha1(s.data).hexdigest()).write_bytes(s.data)
    max_len = max(len(s.data) for s in camp.seeds)
    counter = [args.start]

    def one(data: bytes) -> None:
        runner.one(counter[0], data)
        counter[0] += 1

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        # libFuzzer's byte mutations of the corpus entry, our structure-aware ones of it,
        # or of a fresh seed (keeps well-formed inputs coming; coverage keeps what is new)
        r = random.Random(seed)
        c = r.random()
        try:
            if c < 0.6:
                return camp.mutate(r, data)[:max_size]
            if c < 0.8:
                return camp.make_input(r)[:max_size]
        except (Exception, RecursionError) as exc:  # noqa: BLE001 - a mutator bug: log it
            print(f"mutator failed: {type(exc).__name__}: {exc}"[:300], file=sys.stderr)
        return atheris.Mutate(data, max_size)

    argv = [sys.argv[0], f"-runs={args.count}", f"-seed={args.seed * 1000003 + args.start + 1}",
            f"-max_len={max_len}", "-timeout=0", f"-rss_limit_mb={args.memory_mb}",
            "-print_final_stats=1", "-close_fd_mask=1", f"-artifact_prefix={out}/",
            str(corpus)]
    atheris.Setup(argv, one, custom_mutator=mutator)
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz.worker")
    ap.add_argument("--target", required=True)
    ap.add_argument("--engine", choices=["random", "atheris"], default="random")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--max-seed-size", type=int, default=32 << 20)
    ap.add_argument("--memory-mb", type=int, default=4096)
    args = ap.parse_args(argv)
    out = Path(args.out)
    state = State(args.state)
    if args.engine == "atheris":
        run_atheris(args, out, state)  # libFuzzer exits the process when done
        return 0
    _limit_memory(args.memory_mb)
    run_random(args, Runner(args.target, state, out, args.time_limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
