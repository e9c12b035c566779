#!/usr/bin/env python3
"""Benchmark abiguard's ELF reader against pyelftools, readelf and nm on the ELF files of /usr.

Usage: python benchmarks/bench_elf.py [--limit N] [--pyelftools-limit N] [--root DIR]
                                      [--repeat N] [--json FILE]

Every tool computes the same dynamic-linking view (DT_NEEDED, soname, the dynamic symbols
with their versions): abiguard's ``read_elf`` and a pyelftools equivalent in this process
(one core), ``readelf -d --dyn-syms -V -W`` and ``nm -D`` batched (many files per call).
Then, for every non-relocatable file, our import count is checked against the number of
undefined non-local symbols readelf lists (mismatches are reported).

abiguard is timed three ways: the import view (``read_elf`` and the sizes of its imports and
exports: every table validated, symbols not built -- ``ElfObject.imports``/``exports`` are
lazy), then with every import built as an ElfSymbol (what ``bind`` does to a consumer), then
with every import and export built. Each row gives wall time and the CPU time of this process
(``time.process_time``) per file: other jobs on the machine inflate the first more than the
second, so compare CPU times, and note the load average printed at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from abiguard.elf import ELF_MAGIC, read_elf
from abiguard.errors import ElfError


@dataclass
class Row:
    tool: str
    files: int
    seconds: float
    mbytes: float
    note: str = ""
    cpu_seconds: float | None = None
    """CPU time of this process (in-process tools only)."""

    @property
    def cpu_us_per_file(self) -> float | None:
        return self.cpu_seconds / self.files * 1e6 if self.cpu_seconds and self.files else None

    @property
    def files_per_s(self) -> float:
        return self.files / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.mbytes / self.seconds if self.seconds else 0.0


def collect(root: str, limit: int | None) -> list[tuple[str, int]]:
    """(path, size) of the regular ELF files under root, sorted by path."""
    out: list[tuple[str, int]] = []
    stack = [root]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    size = entry.stat(follow_symlinks=False).st_size
                    if size < 52:
                        continue
                    with open(entry.path, "rb", buffering=0) as fh:
                        if fh.read(4) == ELF_MAGIC:
                            out.append((entry.path, size))
            except OSError:
                continue
    out.sort()
    if limit is not None and len(out) > limit:
        step = len(out) / limit
        out = [out[int(i * step)] for i in range(limit)]
    return out


def warm(files: Sequence[tuple[str, int]]) -> None:
    """Read every file once so that all tools start from the page cache."""
    for p, _ in files:
        try:
            with open(p, "rb", buffering=0) as fh:
                while fh.read(1 << 22):
                    pass
        except OSError:
            pass


def subset(files: Sequence[tuple[str, int]], n: int) -> list[tuple[str, int]]:
    if len(files) <= n:
        return list(files)
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)]


VIEWS = {
    "view": "import view (lazy symbols)",
    "imports": "every import built",
    "all": "every import and export built",
}


def time_abiguard(files: Sequence[tuple[str, int]], repeat: int, build: str = "view"
                  ) -> tuple[float, float, dict[str, int], dict[str, str], dict[str, str]]:
    """Best wall and best CPU time over ``repeat`` runs; per-file import counts, kinds and
    errors. ``build``: "view" (sizes only), "imports" (every import built as an ElfSymbol)
    or "all" (every import and export built)."""
    best = best_cpu = float("inf")
    counts: dict[str, int] = {}
    kinds: dict[str, str] = {}
    errors: dict[str, str] = {}
    imports, exports = build in ("imports", "all"), build == "all"
    for _ in range(repeat):
        t = time.perf_counter()
        c = time.process_time()
        for p, _size in files:
            try:
                o = read_elf(p)
            except ElfError as exc:
                errors[p] = exc.message
                continue
            counts[p] = len(o.imports)
            kinds[p] = o.kind
            len(o.exports)
            if imports:
                for _sym in o.imports:
                    pass
            if exports:
                for _sym in o.exports:
                    pass
        best_cpu = min(best_cpu, time.process_time() - c)
        best = min(best, time.perf_counter() - t)
        gc.collect()
    return best, best_cpu, counts, kinds, errors


def time_pyelftools(files: Sequence[tuple[str, int]]) -> tuple[float, int]:
    from helpers.elfbuild import pyelftools_view

    failures = 0
    t = time.perf_counter()
    for p, _ in files:
        try:
            pyelftools_view(p)
        except Exception:  # noqa: BLE001 - pyelftools raises many kinds
            failures += 1
    return time.perf_counter() - t, failures


def batched(cmd: Sequence[str], files: Sequence[tuple[str, int]], batch: int,
            sink: Callable[[str], None] | None = None) -> float:
    t = time.perf_counter()
    for i in range(0, len(files), batch):
        chunk = [p for p, _ in files[i:i + batch]]
        proc = subprocess.run([*cmd, *chunk], check=False, capture_output=True, text=True,
                              errors="surrogateescape")
        if sink is not None:
            sink(proc.stdout)
    return time.perf_counter() - t


def readelf_und_counts(out: str, counts: dict[str, int]) -> None:
    """Count undefined non-local dynamic symbols per file in readelf output."""
    current: str | None = None
    in_dynsym = False
    for line in out.splitlines():
        if line.startswith("File: "):
            current = line[6:].strip()
            counts.setdefault(current, 0)
            in_dynsym = False
        elif line.startswith("Symbol table '.dynsym'"):
            in_dynsym = True
        elif in_dynsym:
            parts = line.split()
            if not parts:
                in_dynsym = False
                continue
            if (len(parts) >= 7 and parts[0].endswith(":") and parts[0] != "0:"
                    and parts[6] == "UND" and parts[4] != "LOCAL" and current is not None):
                counts[current] = counts.get(current, 0) + 1


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="/usr")
    ap.add_argument("--limit", type=int, default=None, help="at most N files (evenly spread)")
    ap.add_argument("--pyelftools-limit", type=int, default=200)
    ap.add_argument("--batch", type=int, default=100, help="files per readelf/nm call")
    ap.add_argument("--repeat", type=int, default=3, help="abiguard runs (best is reported)")
    ap.add_argument("--no-warm", action="store_true", help="skip the page-cache warm-up")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    load_start = os.getloadavg()[0]
    t = time.perf_counter()
    files = collect(args.root, args.limit)
    total_mb = sum(s for _, s in files) / 1e6
    print(f"{len(files)} ELF files under {args.root} ({total_mb:.0f} MB), "
          f"collected in {time.perf_counter() - t:.1f}s", flush=True)
    if not files:
        return 1
    if not args.no_warm:
        warm(files)

    rows: list[Row] = []
    secs, cpu, counts, kinds, errors = time_abiguard(files, args.repeat)
    rows.append(Row("abiguard read_elf", len(files), secs, total_mb,
                    f"{VIEWS['view']}; best of {args.repeat}; {len(errors)} ElfError", cpu))
    for build in ("imports", "all"):
        b_secs, b_cpu, *_ = time_abiguard(files, args.repeat, build)
        rows.append(Row(f"abiguard read_elf + {build}", len(files), b_secs, total_mb,
                        f"{VIEWS[build]}; best of {args.repeat}", b_cpu))

    sub = subset(files, args.pyelftools_limit)
    sub_mb = sum(s for _, s in sub) / 1e6
    ours_sub, *_ = time_abiguard(sub, args.repeat, "all")
    rows.append(Row("abiguard read_elf + all (pyelftools subset)", len(sub), ours_sub, sub_mb,
                    f"best of {args.repeat}"))
    pe_secs, pe_fail = time_pyelftools(sub)
    rows.append(Row("pyelftools (same view)", len(sub), pe_secs, sub_mb,
                    f"{pe_fail} failed" if pe_fail else ""))

    und: dict[str, int] = {}
    re_secs = batched(["readelf", "-d", "--dyn-syms", "-V", "-W"], files, args.batch,
                      lambda out: readelf_und_counts(out, und))
    rows.append(Row("readelf -d --dyn-syms -V -W", len(files), re_secs, total_mb,
                    f"batched {args.batch}/call"))
    nm_secs = batched(["nm", "-D"], files, args.batch)
    rows.append(Row("nm -D", len(files), nm_secs, total_mb, f"batched {args.batch}/call"))

    # Cross-check: our import count == readelf's undefined non-local dynamic symbols.
    mismatches: list[tuple[str, int, int | None]] = []
    checked = 0
    for p, _ in files:
        if p not in counts or kinds.get(p) == "REL":
            continue
        checked += 1
        if und.get(p, 0) != counts[p]:
            mismatches.append((p, counts[p], und.get(p)))

    head = (f"{'tool':44s} {'files':>6s} {'seconds':>8s} {'files/s':>9s} {'MB/s':>8s} "
            f"{'CPU us/file':>11s} {'(files/CPU-s)':>13s}  note")
    print()
    print(head)
    print("-" * len(head))
    for r in rows:
        per = r.cpu_us_per_file
        cpu_cols = f"{per:11.0f} {1e6 / per:13.0f}" if per else f"{'':11s} {'':13s}"
        print(f"{r.tool:44s} {r.files:6d} {r.seconds:8.2f} {r.files_per_s:9.0f} "
              f"{r.mb_per_s:8.0f} {cpu_cols}  {r.note}")
    pe_ratio = (ours_sub and pe_secs / ours_sub) or 0
    print(f"\nabiguard vs pyelftools on the same {len(sub)} files: {pe_ratio:.0f}x faster")
    print(f"import counts checked against readelf: {checked} files, "
          f"{len(mismatches)} mismatches")
    for p, ours, theirs in mismatches[:20]:
        print(f"  MISMATCH {p}: abiguard {ours} imports, readelf {theirs}")
    for p, msg in list(errors.items())[:20]:
        print(f"  ElfError {p}: {msg}")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\n{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load_start:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end, max RSS {ru.ru_maxrss // 1024} MB")

    if args.json:
        args.json.write_text(json.dumps({
            "root": args.root, "files": len(files), "mbytes": total_mb,
            "rows": [asdict(r) | {"files_per_s": r.files_per_s, "mb_per_s": r.mb_per_s,
                                  "cpu_us_per_file": r.cpu_us_per_file} for r in rows],
            "readelf_check": {"checked": checked, "mismatches": mismatches},
            "errors": errors,
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average": [load_start, os.getloadavg()[0]],
        }, indent=2) + "\n")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
