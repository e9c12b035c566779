#!/usr/bin/env python3
"""abiguard next to the dynamic linker and readelf on the same files, in one run.

Usage: python benchmarks/bench_ldso.py [--runs N] [--sets so bin] [--jobs N] [--json FILE]

Two sets of files (regular ELF files only, not following symlinks, not recursing):

* ``so``: the ``*.so*`` files directly in /usr/lib/x86_64-linux-gnu;
* ``bin``: the files of /usr/bin.

For each set, three tools do the same job on the same files, run after run alternating
(A B C A B C ...: the speed of this VM drifts between minutes), and each row is the median
of the runs:

* **ld.so**: glibc's dynamic linker in trace mode with every import bound, one process per
  file, one after the other: ``LD_TRACE_LOADED_OBJECTS=1 LD_WARN=1 LD_BIND_NOW=1
  /lib64/ld-linux-x86-64.so.2 FILE`` -- the same search, loading and binding of every
  symbol, in C (it maps the libraries and relocates, then exits without running anything);
* **readelf**: ``readelf -d --dyn-syms -V -W`` of the files, batched 100 per call (the tables
  abiguard reads, printed);
* **abiguard**: ``abiguard scan -q --format json -o FILE`` of the files in one process
  (reading, resolving, binding, classifying and writing the JSON; Python start-up included),
  with ``--jobs N`` when given (else abiguard's default: two processes while the load
  average leaves a CPU idle).

It reports wall seconds and the CPU seconds of the child processes (user + system), the
ratio abiguard / ld.so (and / readelf) of both, and the size of abiguard's JSON. Only
measures: no assertion. ld.so is run by this script only, never by abiguard.
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
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LDSO = "/lib64/ld-linux-x86-64.so.2"
SETS = {"so": ("/usr/lib/x86_64-linux-gnu", "*.so*"), "bin": ("/usr/bin", "*")}
TOOLS = ("ld.so", "readelf", "abiguard")


def elf_files(directory: str, pattern: str) -> list[str]:
    """The regular ELF files directly in ``directory`` whose name matches ``pattern``."""
    out = []
    for p in sorted(Path(directory).glob(pattern)):
        try:
            if p.is_symlink() or not p.is_file():
                continue
            with open(p, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    out.append(str(p))
        except OSError:
            continue
    return out


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_ldso(files: list[str]) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_TRACE_LOADED_OBJECTS": "1",
           "LD_WARN": "1", "LD_BIND_NOW": "1"}
    for f in files:
        subprocess.run([LDSO, f], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)


def run_readelf(files: list[str]) -> None:
    for i in range(0, len(files), 100):
        subprocess.run(["readelf", "-d", "--dyn-syms", "-V", "-W", *files[i:i + 100]],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def run_abiguard(files: list[str], out: str, jobs: int | None = None) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    # compiled modules as an installed package has them (the warm-up run writes them)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    extra = ["--jobs", str(jobs)] if jobs else []
    proc = subprocess.run([sys.executable, "-m", "abiguard.cli", "scan", "-q", *extra,
                           "--format", "json", "-o", out, *files], env=env,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode not in (0, 1, 2) or not os.path.getsize(out):
        raise SystemExit(f"abiguard scan failed ({proc.returncode}): {proc.stderr[-500:]}")


def measure(name: str, files: list[str], runs: int, out: str, ajobs: int | None = None
            ) -> dict:
    jobs = {"ld.so": lambda: run_ldso(files), "readelf": lambda: run_readelf(files),
            "abiguard": lambda: run_abiguard(files, out, ajobs)}
    jobs["abiguard"]()  # warm-up: page cache, .pyc files
    wall: dict[str, list[float]] = {t: [] for t in TOOLS}
    cpu: dict[str, list[float]] = {t: [] for t in TOOLS}
    for _ in range(runs):
        for tool in TOOLS:
            c0, t0 = _children_cpu(), time.perf_counter()
            jobs[tool]()
            wall[tool].append(time.perf_counter() - t0)
            cpu[tool].append(_children_cpu() - c0)
    row = {"set": name, "files": len(files), "runs": runs, "json_bytes": os.path.getsize(out),
           "wall": {t: statistics.median(v) for t, v in wall.items()},
           "cpu": {t: statistics.median(v) for t, v in cpu.items()}}
    # ratios run by run (the tools of one run saw the same machine), then the median
    for kind, series in (("wall", wall), ("cpu", cpu)):
        for ref in ("ld.so", "readelf"):
            row[f"{kind}_ratio_{ref}"] = statistics.median(
                a / b for a, b in zip(series["abiguard"], series[ref], strict=True) if b)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="alternating runs (median)")
    ap.add_argument("--sets", nargs="+", choices=sorted(SETS), default=["so", "bin"])
    ap.add_argument("--jobs", type=int, metavar="N",
                    help="abiguard's --jobs (default: abiguard's own default)")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ldso-") as tmp:
        for name in args.sets:
            directory, pattern = SETS[name]
            files = elf_files(directory, pattern)
            rows.append(measure(name, files, args.runs, os.path.join(tmp, f"{name}.json"),
                                args.jobs))
    print("| files | tool | wall s | CPU s | abiguard / tool (wall) | abiguard / tool (CPU) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        what = f"{r['files']} ({r['set']})"
        for tool in TOOLS:
            ratio = ("", "") if tool == "abiguard" else (
                f"{r[f'wall_ratio_{tool}']:.2f}x", f"{r[f'cpu_ratio_{tool}']:.2f}x")
            print(f"| {what} | {tool} | {r['wall'][tool]:.2f} | {r['cpu'][tool]:.2f} | "
                  f"{ratio[0]} | {ratio[1]} |")
        print(f"| {what} | abiguard JSON | {r['json_bytes'] / 1e6:.1f} MB | | | |")
    print(f"\nmedians of {args.runs} alternating runs; CPython {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load0:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end; abiguard --jobs "
          f"{args.jobs or 'default (2 while the load average leaves a CPU idle)'}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
