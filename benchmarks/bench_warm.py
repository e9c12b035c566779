#!/usr/bin/env python3
"""README's package commands on a warm cache: wall and CPU seconds, medians.

Usage: python benchmarks/bench_warm.py [--runs N] [--json FILE]

Runs, each as its own process (Python start-up included), the README's three commands on
bookworm's qemu-system-xen: ``scan --with-deps qemu-system-xen``, ``plan --with-deps
qemu-system-xen`` and ``diff --with-deps qemu-system-xen qemu-system-xen/trixie``; then the
same consumer with its library packages given as files (``scan DEB --provider DEB...``, the
.debs the first run downloaded), the floor of a package scan. A first run of each fills the
cache (downloads, apt's answers, unpacked packages: abiguard.debian.answers and .unpacked);
the timed runs alternate the commands and each row is the median. Only measures: the
answers are the tests' business (tests/debian/test_warm.py, tests/integration/test_apt_real.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QEMU = "qemu-system-xen"
COMMANDS = {
    "scan": ["scan", "--with-deps", QEMU],
    "plan": ["plan", "--with-deps", QEMU],
    "diff": ["diff", "--with-deps", QEMU, f"{QEMU}/trixie"],
}


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # compiled modules, as an installed package
    return env


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(args: list[str]) -> tuple[float, float]:
    c0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "abiguard.cli", *args], env=_env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"abiguard {' '.join(args)} failed ({proc.returncode}): "
                         f"{proc.stderr[-500:]}")
    return time.perf_counter() - t0, _children_cpu() - c0


def provider_files() -> list[str]:
    """The consumer's .deb and its library packages' (from the cache), for the floor."""
    sys.path.insert(0, str(ROOT / "src"))
    from abiguard.debian.apt import client

    apt = client()
    rec = apt.candidates([QEMU])[QEMU]
    assert rec is not None, f"apt has no {QEMU}"
    deb = apt.cached(rec)
    assert deb is not None
    deps = [d for d in apt.closure([rec], exclude=[QEMU]) if apt.cached(d) is not None]
    return [str(deb), *(x for d in deps for x in ("--provider", str(apt.cached(d))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    jobs = dict(COMMANDS)
    for argv in jobs.values():
        run(argv)  # fills the cache
    jobs["scan DEB --provider DEB..."] = ["scan", *provider_files()]
    run(jobs["scan DEB --provider DEB..."])
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in jobs}
    for _ in range(args.runs):
        for name, argv in jobs.items():
            times[name].append(run(argv))
    rows = {k: {"wall": statistics.median(w for w, _ in v),
                "cpu": statistics.median(c for _, c in v)} for k, v in times.items()}
    print("| command (warm cache) | wall s | CPU s |")
    print("|---|---|---|")
    for name, r in rows.items():
        print(f"| `{name}` | {r['wall']:.2f} | {r['cpu']:.2f} |")
    print(f"\nmedians of {args.runs} alternating runs; CPython {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load0:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
