"""What classification costs a scan: a directory scanned with the stability model and with a
policy that classifies nothing, alternating, in one process (the machine's drift hits both).

    python benchmarks/bench_policy.py [DIR] [--runs 5]      (default DIR: /usr/bin)

Each run reads the directory's ELF files, resolves and binds every consumer and (with the
model) loads the policy files - the built-in Debian history included - and classifies every
library and symbol. Prints the medians of wall and CPU time and their ratios (issue 15's target: at most
1.10); on a shared machine CPU time is the steadier of the two.
"""

from __future__ import annotations

import argparse
import statistics
import time

from abiguard.inputs import collect
from abiguard.model import Evidence, Stability
from abiguard.pipeline import ScanOptions, scan_targets
from abiguard.policy import Policy
from abiguard.resolve import Layers, Resolver


class NoPolicy(Policy):
    """Classifies nothing: every library unknown, every symbol its library's class."""

    def __init__(self) -> None:
        super().__init__([])

    def classify_library(self, key, lib, where=None) -> tuple[Stability, tuple[Evidence, ...]]:
        return Stability.UNKNOWN, ()

    def classify_symbol(self, name, version, library_key, library):
        return library


def run(directory: str, with_model: bool) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, consumers) of one scan."""
    t, c = time.perf_counter(), time.process_time()
    policy = Policy.load() if with_model else NoPolicy()
    with collect([directory]) as collected:
        resolver = Resolver(Layers("/", list(collected.overlays)), policy=policy)
        audit = scan_targets(collected, ScanOptions(), [directory], resolver)
    return time.perf_counter() - t, time.process_time() - c, len(audit.consumers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("directory", nargs="?", default="/usr/bin")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    run(args.directory, False)  # warm the page cache
    runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    n = 0
    for _ in range(args.runs):
        for model in (False, True):
            wall, cpu, n = run(args.directory, model)
            runs[model].append((wall, cpu))
    print(f"scan of {args.directory} ({n} consumers), {args.runs} alternating runs each:")
    for i, what in ((0, "wall"), (1, "CPU")):
        a = statistics.median(r[i] for r in runs[True])
        b = statistics.median(r[i] for r in runs[False])
        print(f"  {what:4}: with the stability model median {a:.2f} s, classifying nothing "
              f"{b:.2f} s: ratio {a / b:.3f} (+{100 * (a / b - 1):.1f}%)")


if __name__ == "__main__":
    main()
