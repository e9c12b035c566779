#!/usr/bin/env python3
"""abiguard's bindings against glibc's dynamic linker, for every dynamic ELF file of a system.

Usage: python benchmarks/compare_ldso.py [DIR...] [--limit N] [--jobs N] [--json FILE]
                                          [--examples N]

For each regular, dynamic (PT_DYNAMIC) x86-64 ELF executable or shared library under the
directories (default: /usr/bin /usr/sbin /usr/libexec /usr/lib/x86_64-linux-gnu; files reached
under several names are taken once, by real path), abiguard's resolver computes its bindings
(read_elf + Resolver.resolve, as ``abiguard scan`` does) and ld.so traces them
(``LD_TRACE_LOADED_OBJECTS=1 LD_WARN=1 LD_BIND_NOW=1 LD_DEBUG=bindings ld.so FILE``, see
tests/helpers/ldso_oracle.py; main never runs). Both sides are sets of (symbol, requested version,
real path of the provider) of the file's own relocations; a file's bindings to itself are
counted apart (abiguard lists what a file takes from others).

Printed: files compared, files ld.so could not trace (with why), bindings, matched, missed
(ld.so makes them, abiguard does not) and extra (abiguard reports them, ld.so does not), the
copies among them and ld.so's copy-size warnings against abiguard's, then examples of each
difference; and ld.so's "undefined symbol" complaints against abiguard's unresolved (not weak)
imports. The target is 0 differences in either direction. Exit 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from abiguard.elf import ELF_MAGIC, ElfFile
from abiguard.errors import ElfError
from helpers.ldso_oracle import LDSO, compare_file

DEFAULT_DIRS = ["/usr/bin", "/usr/sbin", "/usr/libexec", "/usr/lib/x86_64-linux-gnu"]
PT_DYNAMIC = 2


def collect(dirs: list[str]) -> list[str]:
    """Real paths of the dynamic x86-64 ELF files (EXEC/DYN) under dirs, sorted."""
    seen: set[str] = set()
    out: list[str] = []
    for top in dirs:
        for base, subdirs, files in os.walk(top):
            subdirs.sort()
            for name in sorted(files):
                p = os.path.join(base, name)
                try:
                    if not os.path.isfile(p):
                        continue
                    real = os.path.realpath(p)
                    if real in seen:
                        continue
                    seen.add(real)
                    with open(real, "rb") as fh:
                        if fh.read(4) != ELF_MAGIC:
                            continue
                    with ElfFile(real) as f:
                        h = f.header
                        if h.machine != 62 or h.elf_class != 64 or h.type not in (2, 3):
                            continue
                        if not any(s.type == PT_DYNAMIC for s in f.segments):
                            continue
                except (OSError, ElfError):
                    continue
                out.append(real)
    return sorted(out)


_RESOLVER = None


def one(path: str) -> dict:
    """Compare one file: a JSON-able dict (tests/helpers/ldso_oracle.py FileComparison)."""
    global _RESOLVER
    from abiguard.resolve import Resolver

    if _RESOLVER is None:
        _RESOLVER = Resolver()
    return asdict(compare_file(path, _RESOLVER, LDSO[("x86_64", 64)]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="*", default=DEFAULT_DIRS)
    ap.add_argument("--limit", type=int, help="compare only N files (evenly spread)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--json", help="write every file's result to this JSON file")
    ap.add_argument("--examples", type=int, default=12, help="examples shown per class")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    files = collect(args.dirs)
    if args.limit and len(files) > args.limit:
        step = len(files) / args.limit
        files = [files[int(i * step)] for i in range(args.limit)]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            results = list(ex.map(one, files, chunksize=8))
    else:
        results = [one(p) for p in files]
    elapsed = time.perf_counter() - t0

    ok = [r for r in results if r["error"] is None]
    errors = [r for r in results if r["error"] is not None]
    totals: Counter[str] = Counter()
    for r in ok:
        totals["bindings"] += r["bindings"]
        totals["self"] += r["self_bound"]
        totals["matched"] += r["matched"]
        totals["missed"] += len(r["missed"])
        totals["extra"] += len(r["extra"])
        totals["copies"] += len(r["copies"])
        totals["declared"] += r["declared"]
        totals["ldso_warn"] += len(r["size_warnings"])
        totals["abiguard_warn"] += len(r["abiguard_size_warnings"])
        totals["undefined"] += len(r["undefined"])
        totals["unresolved"] += len(r["unresolved"])
    warn_diff = [r for r in ok if r["size_warnings"] != r["abiguard_size_warnings"]]
    undef_diff = [r for r in ok if r["undefined"] != r["unresolved"]]
    print(f"directories: {' '.join(args.dirs)}")
    print(f"files: {len(files)} dynamic x86-64 ELF files, {len(ok)} compared, "
          f"{len(errors)} not traced")
    for r in errors:
        print(f"  not traced: {r['path']}: {r['error']}")
    print(f"bindings (ld.so, to other files): {totals['bindings']}; to the file itself: "
          f"{totals['self']} (not compared)")
    print(f"matched {totals['matched']}, missed {totals['missed']} "
          f"(in {sum(1 for r in ok if r['missed'])} files), extra {totals['extra']} "
          f"(in {sum(1 for r in ok if r['extra'])} files)")
    print(f"copies: {totals['copies']}; copy-size warnings: ld.so {totals['ldso_warn']}, "
          f"abiguard {totals['abiguard_warn']}, files where they differ {len(warn_diff)}")
    print(f"undefined symbols: ld.so {totals['undefined']}, abiguard unresolved (not weak) "
          f"{totals['unresolved']}, files where they differ {len(undef_diff)}")
    print(f"declared imports (no relocation uses them): {totals['declared']}")
    for what in ("missed", "extra"):
        shown = 0
        for r in ok:
            for name, ver, prov in r[what]:
                if shown < args.examples:
                    print(f"  {what}: {r['path']}: {name}" + (f"@{ver}" if ver else "") +
                          f" -> {prov}")
                shown += 1
    for r in warn_diff[: args.examples]:
        print(f"  size warnings differ: {r['path']}: ld.so {r['size_warnings']}, "
              f"abiguard {r['abiguard_size_warnings']}")
    for r in undef_diff[: args.examples]:
        print(f"  undefined differ: {r['path']}: ld.so {r['undefined']}, "
              f"abiguard {r['unresolved']}")
    print(f"elapsed {elapsed:.0f} s, load average {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"totals": totals, "results": results},
                                              indent=1))
    return 1 if totals["missed"] or totals["extra"] or warn_diff or undef_diff else 0


if __name__ == "__main__":
    sys.exit(main())
