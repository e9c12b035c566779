"""Fuzzing campaigns: ``python -m fuzz.run --target elf --inputs 100000``.

Each target runs in a worker process of its own (at most ``--jobs`` at once, default 2),
supervised from here: an input over ``--time-limit`` seconds is interrupted in the worker
(SIGALRM) and recorded as a hang; a worker stuck in C code, or dying (signal, out of memory),
is killed/replaced and the input it was on is recorded; the campaign continues with the next
input. At the end a table per target: inputs, seconds, inputs/s, parsed, rejected (the
module's own error), unhandled exceptions (and unique signatures), hangs.

Findings are under ``OUT/<target>/findings/`` with ``findings.jsonl``; turn each into a
regression input under tests/data/fuzz-regressions/<target>/ (replayed by tests/integration/test_fuzz.py)
once fixed. ``--replay FILE`` runs one input and shows the traceback.

Examples::

    python -m fuzz.run --target elf --inputs 100000               # atheris if installed
    python -m fuzz.run --target all --inputs 100000 --jobs 2 --json fuzz-out/summary.json
    python -m fuzz.run --target deb --engine random --seed 7 --inputs 5000
    python -m fuzz.run --target elf --replay fuzz-out/elf/findings/unhandled-....bin
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .targets import TARGETS
from .worker import State

REPO = Path(__file__).resolve().parents[1]


def have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def campaign(target: str, inputs: int, *, seed: int = 1, engine: str = "random",
             time_limit: float = 10.0, out: Path | None = None, max_seed_size: int = 32 << 20,
             memory_mb: int = 4096, log=None) -> dict:
    """Run one target's campaign in supervised worker processes; returns its summary."""
    out = Path(out or tempfile.mkdtemp(prefix=f"abiguard-fuzz-{target}-"))
    tdir = out / target
    tdir.mkdir(parents=True, exist_ok=True)
    (tdir / "findings.jsonl").unlink(missing_ok=True)
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    fd, state_path = tempfile.mkstemp(prefix=f"abiguard-fuzz-{target}-", suffix=".state",
                                      dir=shm)
    os.close(fd)
    state = State(state_path, create=True)
    hard_limit = time_limit * 2 + 2  # then the worker is stuck where SIGALRM cannot reach
    hard_hangs = deaths = restarts = 0
    start = 0
    stalled = 0
    t0 = time.monotonic()
    proc: subprocess.Popen | None = None
    logf = log or open(tdir / "worker.log", "ab")  # noqa: SIM115 - closed below
    from .worker import Recorder

    rec = Recorder(tdir)
    workers_scratch = tempfile.mkdtemp(prefix=f"abiguard-fuzz-{target}-", dir=shm)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "ABIGUARD_FUZZ_SCRATCH": workers_scratch}
    try:
        while True:
            s = state.read()
            finished = s["done"] + hard_hangs + deaths
            if finished >= inputs:
                break
            count = inputs - finished
            cmd = [sys.executable, "-m", "fuzz.worker", "--target", target, "--engine", engine,
                   "--seed", str(seed), "--start", str(start), "--count", str(count),
                   "--state", state_path, "--out", str(tdir), "--time-limit", str(time_limit),
                   "--max-seed-size", str(max_seed_size), "--memory-mb", str(memory_mb)]
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=logf, stderr=logf,
                                    start_new_session=True)
            killed = False
            while proc.poll() is None:
                time.sleep(0.2)
                s = state.read()
                if s["running"] and time.monotonic_ns() - s["started_ns"] > hard_limit * 1e9:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    killed = True
            s = state.read()
            progressed = s["done"] + hard_hangs + deaths > finished
            if killed:
                hard_hangs += 1
                rec.record("hang", f"stuck over {hard_limit:g} s (killed)", state.input(),
                           s["index"])
            elif proc.returncode != 0 and s["running"]:
                deaths += 1
                how = (f"signal {-proc.returncode}" if proc.returncode < 0
                       else f"exit status {proc.returncode}")
                rec.record("died", f"worker died ({how})", state.input(), s["index"])
            elif proc.returncode != 0:
                stalled += 1
                if stalled >= 3:
                    raise RuntimeError(f"fuzz worker for {target} fails to start "
                                       f"(exit status {proc.returncode}); see "
                                       f"{tdir / 'worker.log'}")
                continue
            if killed or (proc.returncode != 0 and s["running"]):
                restarts += 1
                s["running"] = 0
                # the state still says "running": clear it for the next worker
                from .worker import HDR, MAGIC

                HDR.pack_into(state.mm, 0, MAGIC, s["done"], s["ok"], s["rejected"],
                              s["unhandled"], s["soft_hangs"], 0, 0, 0, s["index"], 0)
            stalled = 0 if progressed else stalled + 1
            start = s["index"] + 1
            if engine == "atheris" and proc.returncode == 0 and not killed:
                break  # libFuzzer ran its -runs (initial corpus included)
    finally:
        if proc is not None and proc.poll() is None:  # interrupted: no orphan worker
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        s = state.read()
        state.close()
        os.unlink(state_path)
        shutil.rmtree(workers_scratch, ignore_errors=True)
        if log is None:
            logf.close()
    seconds = time.monotonic() - t0
    findings = []
    fpath = tdir / "findings.jsonl"
    if fpath.exists():
        findings = [json.loads(line) for line in fpath.read_text().splitlines() if line]
    # A hang is confirmed by running its input again in a fresh process: one that then ends
    # in time was a stall of the machine (this VM is paused at times), not of abiguard.
    stalls = 0
    confirm = not os.environ.get("ABIGUARD_FUZZ_SELFTEST")  # (its hang is made, not found)
    for f in findings:
        if f["kind"] == "hang" and confirm and \
                _replays_in_time(target, tdir / f["input"], time_limit, env):
            f["kind"] = "stall"
            stalls += 1
    sigs: dict[str, dict] = {}
    for f in findings:
        sigs.setdefault(f["signature"] + f["kind"], {
            "kind": f["kind"], "signature": f["signature"], "input": str(tdir / f["input"])})
    total = s["done"] + hard_hangs + deaths
    return {
        "target": target, "engine": engine, "seed": seed, "inputs": total,
        "seconds": round(seconds, 1), "inputs_per_s": round(total / seconds, 1) if seconds else 0,
        "ok": s["ok"], "rejected": s["rejected"], "unhandled": s["unhandled"],
        "hangs": s["soft_hangs"] + hard_hangs - stalls, "stalls": stalls,
        "worker_deaths": deaths, "restarts": restarts,
        "unique": sorted(sigs.values(), key=lambda d: d["signature"]),
        "allowed": TARGETS[target].allowed, "out": str(tdir),
    }


def _replays_in_time(target: str, path: Path, time_limit: float, env: dict) -> bool:
    """True when the input now runs in time in a fresh process (twice, to be sure)."""
    for _ in range(2):
        try:
            proc = subprocess.run([sys.executable, "-m", "fuzz.run", "--target", target,
                                   "--replay", str(path), "--time-limit", str(time_limit)],
                                  cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=time_limit * 2 + 30, check=False)
        except subprocess.TimeoutExpired:
            return False
        if proc.returncode != 0:
            return False
    return True


def print_table(results: list[dict], file=sys.stdout) -> None:
    cols = ["target", "engine", "inputs", "seconds", "inputs/s", "parsed", "rejected",
            "unhandled", "unique", "hangs", "died", "stalls"]
    rows = [[r["target"], r["engine"], str(r["inputs"]), f"{r['seconds']:.0f}",
             f"{r['inputs_per_s']:.0f}", str(r["ok"]), str(r["rejected"]), str(r["unhandled"]),
             str(sum(1 for u in r["unique"] if u["kind"] in ("unhandled", "invariant"))),
             str(r["hangs"]), str(r["worker_deaths"]), str(r.get("stalls", 0))]
            for r in results]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                    enumerate(zip(cols, widths))), file=file)
    for row in rows:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in
                        enumerate(zip(row, widths))), file=file)
    for r in results:
        for u in r["unique"]:
            note = " (ran in time when replayed: a stall of the machine)" \
                if u["kind"] == "stall" else ""
            print(f"{r['target']}: [{u['kind']}] {u['signature']}{note}\n    input: "
                  f"{u['input']}", file=file)


def replay(target: str, path: str, time_limit: float) -> int:
    from .worker import InputTimeout, Runner

    data = Path(path).read_bytes()
    run = TARGETS[target].run
    signal.signal(signal.SIGALRM, Runner._alarm)
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    t = time.perf_counter()
    try:
        outcome = run(data)
    except InputTimeout:
        print(f"{path}: HANG (over {time_limit:g} s)")
        return 1
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    print(f"{path}: {outcome} in {time.perf_counter() - t:.3f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", action="append", required=True,
                    choices=[*TARGETS, "all"], help="target (repeatable; 'all')")
    ap.add_argument("--inputs", type=int, default=10_000, help="inputs per target")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", choices=["auto", "atheris", "random"], default="auto",
                    help="atheris (coverage-guided) when installed, else random (default: auto)")
    ap.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS",
                    help="per input; over it an input is a hang (default 10)")
    ap.add_argument("--jobs", type=int, default=2, help="targets run at once (default 2)")
    ap.add_argument("--out", help="findings and corpora (default: abiguard's cache, fuzz-out/)")
    ap.add_argument("--max-seed-size", type=int, default=32 << 20)
    ap.add_argument("--memory-mb", type=int, default=4096, help="per worker")
    ap.add_argument("--json", help="write the summary (all targets) as JSON to this file")
    ap.add_argument("--replay", metavar="FILE", help="run one input of --target and exit")
    args = ap.parse_args(argv)
    targets = list(TARGETS) if "all" in args.target else list(dict.fromkeys(args.target))
    if args.replay:
        return replay(targets[0], args.replay, args.time_limit)
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if have_atheris() else "random"
    elif engine == "atheris" and not have_atheris():
        ap.error("atheris is not installed (pip install atheris), use --engine random")
    if args.out:
        out = Path(args.out)
    else:
        from abiguard.cachedir import cache_dir

        out = cache_dir() / "fuzz-out"
    out.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    print(f"fuzzing {', '.join(targets)}: {args.inputs} inputs each, engine {engine}, seed "
          f"{args.seed}, {args.jobs} at once, findings in {out}", flush=True)

    done: list[dict] = []

    def one(t: str) -> dict:
        r = campaign(t, args.inputs, seed=args.seed, engine=engine, time_limit=args.time_limit,
                     out=out, max_seed_size=args.max_seed_size, memory_mb=args.memory_mb)
        with lock:
            print(f"{t}: {r['inputs']} inputs in {r['seconds']:.0f} s ({r['inputs_per_s']:.0f}"
                  f"/s): {r['unhandled']} unhandled, {r['hangs']} hangs", flush=True)
            done.append(r)
            if args.json:  # as each target ends: a long run stopped midway keeps its results
                Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                Path(args.json).write_text(json.dumps({"results": done}, indent=2) + "\n")
        return r

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(one, targets))
    print()
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results}, indent=2) + "\n")
    bad = sum(r["unhandled"] + r["hangs"] + r["worker_deaths"] for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
