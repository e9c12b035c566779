"""Census throughput on a fixed set of real Debian bookworm packages, next to bare
decompression of the same files.

For each worker count (1 and 2 by default) it measures

* **census**: ``run_census`` of the packages (apt source: the index's SHA-256 and library
  closures; every .deb already in abiguard's download cache, so no network in the timed
  part) into a fresh store, with fresh worker processes: fetch from cache -> SHA-256 ->
  unpack the ELF files -> resolve against the library packages -> classify -> Audit JSON
  -> SQLite. The library packages are unpacked once and kept (``libroots``, as ``abiguard
  census`` does by default: a census of thousands of packages pays for each library once);
  the last column is the same census with the libraries unpacked inside the timed run;
* **steady state**: the census task of each package in one process whose caches (parsed
  libraries, export indexes, bindings) are already warm -- what each package costs in a
  long census, where a fresh worker's first packages are a negligible share;
* **decompression**: the same number of worker processes that only read through each
  package's ``data.tar.*`` (the same decompressors abiguard uses: lzma, gzip, zstandard),
  writing nothing: the floor any census of these files has to pay;
* **tar walk**: reading every member header (and each regular file's first bytes) of every
  package with abiguard's tar reader and with tarfile's stream mode, as a multiple of bare
  decompression.

Packages/s and MB/s (of .deb files) for each, census time / decompression time, and the
same ratio in CPU seconds (the tasks' threads plus the coordinator for the census, the
decompressing processes for the floor) — the figure that other load on the machine distorts
least. Census and decompression runs alternate and each ratio is the median of the run-by-run
ratios: on a VM the speed of the machine drifts by 10-20% between minutes. The first run
downloads the packages and their library dependencies (apt-get download, cached
in ~/.cache/abiguard/debs); a warm-up census run fills the page cache.

    python benchmarks/bench_census.py [--jobs 1 2] [--runs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import os
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from concurrent.futures import ProcessPoolExecutor

# A fixed set: the packages that depend on Xen's libraries plus common C programs and
# libraries (bookworm, amd64), 36 packages, ~48 MB of .deb files.
PACKAGES = [
    "qemu-system-xen", "xen-utils-4.17", "libvirt-daemon-driver-xen", "libvirt0",
    "libvirt-daemon", "libxenmisc4.17", "kexec-tools", "xenstore-utils", "coreutils", "bash",
    "openssh-client", "openssh-server", "curl", "libcurl4", "libssl3", "openssl", "git",
    "vim-tiny", "rsync", "tar", "xz-utils", "zstd", "binutils-x86-64-linux-gnu", "libglib2.0-0",
    "strace", "tcpdump", "postgresql-client-15", "sqlite3", "libsqlite3-0", "python3.11-minimal",
    "libpython3.11", "systemd", "util-linux", "iproute2", "qemu-utils", "libgnutls30",
]


def decompress_deb(path: str) -> tuple[int, float]:
    """Read through the data.tar.* member of a .deb: (uncompressed size, CPU seconds)."""
    c0 = time.thread_time()
    from debian import arfile

    ar = arfile.ArFile(path)
    name = next(n for n in ar.getnames() if n.startswith("data.tar"))
    member = ar.getmember(name)
    ext = name.rsplit(".", 1)[-1]
    total = 0
    if ext == "xz" or ext == "lzma":
        d = lzma.LZMADecompressor()
        while chunk := member.read(1 << 20):
            total += len(d.decompress(chunk))
    elif ext == "gz":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while chunk := member.read(1 << 20):
            total += len(d.decompress(chunk))
    elif ext == "zst":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(member)
        while chunk := reader.read(1 << 20):
            total += len(chunk)
    else:
        while chunk := member.read(1 << 20):
            total += len(chunk)
    return total, time.thread_time() - c0


def walk_members(path: str, reader: str) -> None:
    """Read through every member header of a package's data.tar, looking at the first bytes
    of each regular file as unpacking does: with abiguard's reader or tarfile's stream mode."""
    import tarfile

    from abiguard.debian.deb import Deb, open_tar
    from abiguard.tarstream import decompressed

    with Deb(path) as deb:
        name, member = deb.member("data.tar")
        if reader == "abiguard":
            tar = open_tar(member, name, path, 1 << 40, "max_unpacked_bytes")
            for info in tar:
                if info.isreg():
                    tar.head(8)
            tar.finish()
        else:
            stream = decompressed(member, name, 1 << 40, "max_unpacked_bytes", 1 << 40)
            with tarfile.open(fileobj=_Chunks(stream), mode="r|") as tar:
                for info in tar:
                    if info.isreg():
                        tar.extractfile(info).read(8)


class _Chunks(io.RawIOBase):
    """A file object over an iterator of chunks (for tarfile)."""

    def __init__(self, chunks) -> None:
        super().__init__()
        self.chunks, self.buf = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self.buf:
            self.buf = next(self.chunks, b"")
            if not self.buf:
                return 0
        n = min(len(b), len(self.buf))
        b[:n], self.buf = self.buf[:n], self.buf[n:]
        return n


def tar_walk(paths: list[str], runs: int) -> dict:
    """CPU seconds to walk every package's members with each reader, next to decompression
    (alternating; medians of run-by-run ratios)."""
    rows: dict[str, list[float]] = {"decompression": [], "abiguard": [], "tarfile": []}
    for _ in range(runs):
        for key, times in rows.items():
            c0 = time.process_time()
            for p in paths:
                if key == "decompression":
                    decompress_deb(p)
                else:
                    walk_members(p, key)
            times.append(time.process_time() - c0)
    return {key: round(statistics.median(a / b for a, b in zip(v, rows["decompression"])), 3)
            for key, v in rows.items() if key != "decompression"}


def time_decompression(paths: list[str], jobs: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the decompressing processes)."""
    t = time.perf_counter()
    if jobs == 1:
        got = [decompress_deb(p) for p in paths]
    else:
        with ProcessPoolExecutor(jobs) as pool:
            got = list(pool.map(decompress_deb, paths, chunksize=1))
    return time.perf_counter() - t, sum(c for _, c in got)


def prepare():
    """The refs (with closures) and the local .deb of each package (downloads once)."""
    from abiguard.census.engine import Config, fetch_debs
    from abiguard.census.sources import AptIndex

    index = AptIndex.load()
    refs = []
    for name in PACKAGES:
        ref = index.get(name)
        if ref is None:
            sys.exit(f"bench_census: {name} is not in apt's lists (bookworm expected)")
        refs.append(index.with_closure(ref))
    cfg = Config()
    got = fetch_debs(refs, cfg)
    bad = {n: str(e) for n, e in got.items() if not isinstance(e, str)}
    if bad:
        sys.exit(f"bench_census: cannot download {bad}")
    return refs, [got[r.name] for r in refs]


def time_census(refs, jobs: int, libroots: str | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds: the workers' tasks and the coordinator)."""
    from abiguard.census.engine import Config, LocalEngine, new_scratch, new_workdir, run_census
    from abiguard.census.store import Store

    tmp = tempfile.mkdtemp(prefix="bench-census-")
    workdir, scratch = new_workdir(), new_scratch()
    try:
        with Store(os.path.join(tmp, "s.sqlite")) as store:
            t = time.perf_counter()
            counts = run_census(refs, store, LocalEngine(jobs),
                                Config(workdir=workdir, scratch=scratch, libroots=libroots))
            dt = time.perf_counter() - t
            failed = [(p.name, p.error) for p in store.failures()]
        if failed:
            sys.exit(f"bench_census: failures {failed}")
        return dt, counts["worker_cpu"] + counts["coordinator_cpu"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def steady_state(refs, paths: list[str], libroots: str, runs: int) -> dict:
    """The census task of every package in this process, after a first pass has filled the
    worker caches (parsed libraries, their export indexes, bindings of library scopes) as
    they are for all but the first packages of a long census; alternating with bare
    decompression. CPU seconds of this process."""
    from abiguard.census.engine import Config, new_scratch, new_workdir, run_task

    workdir, scratch = new_workdir(), new_scratch()
    try:
        config = Config(workdir=workdir, scratch=scratch, libroots=libroots)
        for ref in refs:
            run_task(ref, config)
        cs, ds = [], []
        for _ in range(runs):
            c0 = time.process_time()
            for ref in refs:
                run_task(ref, config)
            cs.append(time.process_time() - c0)
            c0 = time.process_time()
            for p in paths:
                decompress_deb(p)
            ds.append(time.process_time() - c0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return {"census_cpu_s": round(statistics.median(cs), 3),
            "decompression_cpu_s": round(statistics.median(ds), 3),
            "cpu_ratio": round(statistics.median(a / b for a, b in zip(cs, ds)), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runs", type=int, default=3, help="timed runs per measurement (median)")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = ap.parse_args()
    refs, paths = prepare()
    mb = sum(os.path.getsize(p) for p in paths) / 1e6
    n = len(paths)
    libroots = tempfile.mkdtemp(prefix="bench-libroots-")
    try:
        time_census(refs, max(args.jobs), libroots)  # warm-up: page cache, library packages
        print(f"{n} packages, {mb:.1f} MB of .deb files "
              f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
              f"load average {os.getloadavg()[0]:.2f} before)")
        print(f"{'workers':>7}  {'census':>22}  {'decompression':>22}  {'ratio':>5}  "
              f"{'CPU s census/decompr.':>22}  census, libraries unpacked in the run")
        results = []
        for jobs in args.jobs:
            # census and decompression alternate, so that the machine's drift (a VM's
            # neighbours) touches both alike; the ratios are medians of run-by-run ratios
            cs, ds = [], []
            for _ in range(args.runs):
                cs.append(time_census(refs, jobs, libroots))
                ds.append(time_decompression(paths, jobs))
            colds = [time_census(refs, jobs) for _ in range(args.runs)]
            c, d, cold = (statistics.median(x[0] for x in xs) for xs in (cs, ds, colds))
            ccpu, dcpu = (statistics.median(x[1] for x in xs) for xs in (cs, ds))
            ratio = statistics.median(a[0] / b[0] for a, b in zip(cs, ds))
            cpu_ratio = statistics.median(a[1] / b[1] for a, b in zip(cs, ds))
            results.append({"workers": jobs, "packages": n, "mb": round(mb, 2),
                            "census_s": round(c, 3), "decompression_s": round(d, 3),
                            "census_cold_libraries_s": round(cold, 3),
                            "census_cpu_s": round(ccpu, 3),
                            "decompression_cpu_s": round(dcpu, 3),
                            "census_pkg_s": round(n / c, 2), "census_mb_s": round(mb / c, 2),
                            "decompression_pkg_s": round(n / d, 2),
                            "decompression_mb_s": round(mb / d, 2), "ratio": round(ratio, 2),
                            "cpu_ratio": round(cpu_ratio, 2)})
            print(f"{jobs:>7}  {n / c:6.1f} pkg/s {mb / c:5.1f} MB/s  "
                  f"{n / d:6.1f} pkg/s {mb / d:5.1f} MB/s  {ratio:5.2f}  "
                  f"{ccpu:8.2f} / {dcpu:5.2f} -> {cpu_ratio:4.2f}  "
                  f"{n / cold:6.1f} pkg/s {mb / cold:5.1f} MB/s")
        warm = steady_state(refs, paths, libroots, args.runs)
        print(f"steady state (one worker, its caches warm: each package of a long census): "
              f"{n / warm['census_cpu_s']:.1f} pkg/s per CPU-second, "
              f"CPU s {warm['census_cpu_s']:.2f} / {warm['decompression_cpu_s']:.2f} "
              f"-> {warm['cpu_ratio']:.2f}")
        walk = tar_walk(paths, args.runs)
        print(f"walking the members of every data.tar (CPU, x bare decompression): "
              f"abiguard's reader {walk['abiguard']:.3f}, tarfile's stream {walk['tarfile']:.3f}")
    finally:
        shutil.rmtree(libroots, ignore_errors=True)
    if len(results) > 1:
        base = results[0]
        for r in results[1:]:
            r["speedup"] = round(base["census_s"] / r["census_s"], 2)
            print(f"census speed-up {base['workers']} -> {r['workers']} workers: "
                  f"{r['speedup']:.2f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"runs": results, "steady_state": warm, "tar_walk": walk}, fh, indent=2)


if __name__ == "__main__":
    main()
