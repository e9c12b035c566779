"""Wall time of `abiguard plan` on Debian's real qemu-system-xen, interpreter start included.

Target (issue: plan): < 0.5 s. Uses the qemu + Xen 4.17 library packages unpacked by the
integration tests' helper (downloaded once with apt-get download into ~/.cache/abiguard).

    python benchmarks/bench_plan.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.realdata import QEMU_BINARY, qemu_root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    root = qemu_root()
    cmd = [str(Path(sys.executable).with_name("abiguard")), "plan", "-q", "--lib-path",
           str(root / "usr/lib/x86_64-linux-gnu"), str(root) + QEMU_BINARY]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the page cache
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    base = []
    for _ in range(args.runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append(time.perf_counter() - t)
    print(f"abiguard plan on {QEMU_BINARY} ({args.runs} runs): median "
          f"{statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s "
          f"(bare interpreter start: median {statistics.median(base):.3f} s)")


if __name__ == "__main__":
    main()
