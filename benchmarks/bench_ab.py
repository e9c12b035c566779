#!/usr/bin/env python3
"""Two abiguard source trees timed against each other, runs alternated, medians compared.

Usage: python benchmarks/bench_ab.py --base DIR [--new DIR] [--runs N] [--only NAME...]
                                     [--scan-dirs DIR...] [--json FILE]

``--base`` and ``--new`` are checkouts (their ``src/`` is put on PYTHONPATH; ``--new``
defaults to this one), e.g. ``git worktree add /tmp/base main``. Each workload runs in a fresh
process, A and B alternating, ``--runs`` times each (default 5), so that the load of other
jobs on the machine falls on both alike; the CPU time of each child (user + system) is taken
from ``getrusage``, wall time too, and the medians are compared.

Workloads:

* ``read``: ``read_elf`` of every ELF file under /usr/bin, /usr/sbin, /usr/libexec and
  /usr/lib/x86_64-linux-gnu, with the sizes of imports and exports (the import view of
  benchmarks/bench_elf.py: symbols not built);
* ``read+imports``: the same with every import built (what the resolver does to a consumer);
* ``scan``: ``abiguard scan /usr/lib/x86_64-linux-gnu /usr/bin --format json -o /dev/null``
  (``--scan-dirs`` changes the directories).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

READ = r"""
import os, sys
from abiguard.elf import read_elf
from abiguard.errors import ElfError
build = sys.argv[1] == "imports"
for p in open(sys.argv[2]).read().split("\n"):
    if not p:
        continue
    try:
        o = read_elf(p)
    except ElfError:
        continue
    len(o.imports); len(o.exports)
    if build:
        for _ in o.imports:
            pass
"""


def elf_files(dirs: list[str]) -> list[str]:
    out = []
    for top in dirs:
        for base, _subdirs, files in os.walk(top):
            for name in files:
                p = os.path.join(base, name)
                try:
                    if os.path.islink(p) or not os.path.isfile(p):
                        continue
                    with open(p, "rb") as fh:
                        if fh.read(4) == b"\x7fELF":
                            out.append(p)
                except OSError:
                    continue
    return sorted(out)


def run(tree: Path, cmd: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process with tree/src on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # compiled modules, as an installed abiguard has
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"{tree}: {' '.join(cmd)} failed:\n{proc.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, type=Path, help="checkout to compare against")
    ap.add_argument("--new", type=Path, default=ROOT, help="checkout measured (default: this)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", nargs="*", default=["read", "read+imports", "scan"])
    ap.add_argument("--scan-dirs", nargs="*",
                    default=["/usr/lib/x86_64-linux-gnu", "/usr/bin"])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    files = elf_files(["/usr/bin", "/usr/sbin", "/usr/libexec", "/usr/lib/x86_64-linux-gnu"])
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(files) + "\n")
        listing = fh.name
    workloads = {
        "read": [PY, "-c", READ, "view", listing],
        "read+imports": [PY, "-c", READ, "imports", listing],
        "scan": [PY, "-m", "abiguard.cli", "scan", *args.scan_dirs, "--format", "json",
                 "-o", os.devnull],
    }
    print(f"{len(files)} ELF files; base {args.base}, new {args.new}; {args.runs} runs each, "
          f"alternated; load average {os.getloadavg()[0]:.2f}", flush=True)
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    try:
        for name in args.only:
            cmd = workloads[name]
            res: dict[str, list[tuple[float, float]]] = {"base": [], "new": []}
            run(args.new, cmd)  # warm the page cache
            for i in range(args.runs):
                order = (("base", args.base), ("new", args.new))
                for label, tree in (order if i % 2 == 0 else order[::-1]):
                    res[label].append(run(tree, cmd))
            results[name] = res
            b = statistics.median(c for c, _ in res["base"])
            n = statistics.median(c for c, _ in res["new"])
            bw = statistics.median(w for _, w in res["base"])
            nw = statistics.median(w for _, w in res["new"])
            print(f"{name:14s} CPU median base {b:7.2f} s, new {n:7.2f} s: {100 * (n / b - 1):+5.1f}%"
                  f"   (wall {bw:.2f} / {nw:.2f} s; CPU runs base "
                  f"{[round(c, 2) for c, _ in res['base']]}, new "
                  f"{[round(c, 2) for c, _ in res['new']]})", flush=True)
    finally:
        os.unlink(listing)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
