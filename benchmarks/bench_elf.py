"""Import-view throughput of abiguard's ELF reader next to readelf, nm -D and pyelftools.

Reads the ELF files under /usr (regular files, ELF magic), then reports files/s and MB/s:
abiguard.elf.read_elf (one process), `readelf -d --dyn-syms -V -W` and `nm -D` batched 100
files per call, and pyelftools doing the same view on a subset.

    python benchmarks/bench_elf.py [--limit N] [--pyelftools-limit 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time

from abiguard.elf import read_elf
from abiguard.errors import ElfError


def elf_files(roots: list[str], limit: int | None) -> list[str]:
    out = []
    for root in roots:
        for d, _, files in os.walk(root):
            for f in sorted(files):
                p = os.path.join(d, f)
                if os.path.islink(p) or not os.path.isfile(p):
                    continue
                try:
                    with open(p, "rb") as fh:
                        if fh.read(4) == b"\x7fELF":
                            out.append(p)
                except OSError:
                    continue
                if limit and len(out) >= limit:
                    return out
    return out


def batched(cmd: list[str], files: list[str]) -> None:
    for i in range(0, len(files), 100):
        subprocess.run(cmd + files[i:i + 100], capture_output=True)


def pyelftools_view(path: str) -> None:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerSymSection

    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        for sec in elf.iter_sections():
            if sec.header.sh_type == "SHT_DYNAMIC":
                list(sec.iter_tags())
            elif sec.header.sh_type == "SHT_DYNSYM":
                list(sec.iter_symbols())
            elif isinstance(sec, GNUVerSymSection):
                list(sec.iter_symbols())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--pyelftools-limit", type=int, default=200)
    args = ap.parse_args()
    files = elf_files(["/usr/bin", "/usr/lib"], args.limit)
    size = sum(os.path.getsize(f) for f in files) / 1e6
    rows = []
    t = time.perf_counter()
    errors = 0
    for f in files:
        try:
            read_elf(f)
        except ElfError:
            errors += 1
    rows.append(("abiguard.elf", len(files), size, time.perf_counter() - t))
    for name, cmd in (("readelf -d --dyn-syms -V (batched)", ["readelf", "-d", "--dyn-syms",
                                                               "-V", "-W"]),
                      ("nm -D (batched)", ["nm", "-D"])):
        t = time.perf_counter()
        batched(cmd, files)
        rows.append((name, len(files), size, time.perf_counter() - t))
    sub = files[: args.pyelftools_limit]
    t = time.perf_counter()
    for f in sub:
        try:
            pyelftools_view(f)
        except Exception:  # noqa: BLE001 - a benchmark, not a reader
            pass
    rows.append(("pyelftools (subset)", len(sub), sum(os.path.getsize(f) for f in sub) / 1e6,
                 time.perf_counter() - t))
    print(f"{len(files)} ELF files, {size:.0f} MB ({errors} rejected as corrupt)")
    print(f"{'reader':38} {'files':>6} {'seconds':>8} {'files/s':>9} {'MB/s':>8}")
    for name, n, mb, sec in rows:
        print(f"{name:38} {n:6d} {sec:8.2f} {n / sec:9.0f} {mb / sec:8.0f}")


if __name__ == "__main__":
    main()
