#!/usr/bin/env python3
"""The call-site finders of two abiguard revisions, side by side, on this machine's files.

Usage: python benchmarks/callsites_old_new.py [--old REV] [--new REV|worktree] [--bins N]

Each revision's ``src/`` is exported (``git archive``; ``worktree``: this checkout) and run in
a process of its own over the same inputs: ``where --objects`` (find_object_references) on the
static libraries and objects of /usr/lib/x86_64-linux-gnu and gcc's directory;
``where BINARY`` (binary_reference_counts, find_binary_callsites, every import) on N programs
and libraries of /usr/bin and /usr/lib/x86_64-linux-gnu (< 3 MB, a fixed sample); the DWARF
attribution path on gcc-built programs (DWARF 4 and 5, -gz, C and C++) and on the DWARF-
carrying libraries of this machine (libsframe, the sanitizer runtimes) whose .symtab is
turned into PROGBITS; the link experiment's helpers (defined_symbols of the archives).
Prints, per part, how many inputs give identical results, the differences, and the CPU
seconds of each revision. Made for issue #19 (the finders moved from pyelftools onto
abiguard's own ELF reader): ``--old a5a8cf3``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUNNER = r'''
import glob, json, sys, time
src, corpus, out = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, src)
from abiguard.callsites import binary, linklib, objects
from abiguard.errors import ElfError
c = json.load(open(corpus))
def site(s):
    return [s.symbol, s.kind, s.file, s.function, s.address, s.attribution]
res, times = {"objects": {}, "binary": {}, "dwarf": {}, "defined": {}}, {}
t = time.process_time()
for p in c["objects"]:
    sites, errors = objects.find_object_references([p], None)
    res["objects"][p] = [[site(s) for s in sites], sorted([e.path, e.message] for e in errors)]
times["objects"] = time.process_time() - t
t = time.process_time()
for p in c["binaries"]:
    try:
        res["binary"][p] = [binary.binary_reference_counts(p),
                            [site(s) for s in binary.find_binary_callsites(p, None)]]
    except ElfError as e:
        res["binary"][p] = ["error", e.message]
times["binary"] = time.process_time() - t
t = time.process_time()
for p in c["dwarf"]:
    try:
        res["dwarf"][p] = [site(s) for s in binary.find_binary_callsites(p, None, [])]
    except ElfError as e:
        res["dwarf"][p] = ["error", e.message]
times["dwarf"] = time.process_time() - t
t = time.process_time()
for p in c["objects"]:
    try:
        res["defined"][p] = sorted(linklib.defined_symbols(p).symbols)
    except (ElfError, OSError) as e:
        res["defined"][p] = ["error", str(e)]
times["defined"] = time.process_time() - t
json.dump({"results": res, "times": times}, open(out, "w"))
'''

C_SRC = r"""
#include <stdio.h>
#include <stdlib.h>
extern int xc_foo(int);
__attribute__((cold, noinline)) static void fail(const char *m) { fputs(m, stderr); abort(); }
static inline int inl(int x) { return xc_foo(x) + 1; }
int helper(int x) { return x > 3 ? xc_foo(-x) : inl(x); }
int work(int x) { int r = 0; for (int i = 0; i < x; i++) r += i == 1000 ? xc_foo(i) : i;
                  if (r < 0) fail("neg"); return r; }
int main(int argc, char **argv) { printf("%d\n", helper(argc) + work(argc)); return !argv; }
"""
CPP_SRC = r"""
#include <cstdio>
#include <string>
extern "C" int xc_foo(int);
namespace ns { struct K { int m(int x); }; int K::m(int x) { return xc_foo(x) + 1; }
int use() { std::string s("abc"); return xc_foo((int)s.size()); } }
int main() { ns::K k; std::printf("%d\n", k.m(1) + ns::use()); return 0; }
"""


def _export(rev: str, dest: Path) -> Path:
    if rev == "worktree":
        return ROOT / "src"
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def _hide_symtab(path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.dwarfref import hide_symtab

    hide_symtab(str(path), str(path))


def _corpus(d: Path, nbins: int) -> dict[str, list[str]]:
    objs = sorted(glob.glob("/usr/lib/x86_64-linux-gnu/*.a") +
                  glob.glob("/usr/lib/gcc/x86_64-linux-gnu/*/*.a") +
                  glob.glob("/usr/lib/gcc/x86_64-linux-gnu/*/*.o"))
    cands = []
    for top in ("/usr/bin", "/usr/lib/x86_64-linux-gnu"):
        for name in sorted(os.listdir(top)):
            p = os.path.join(top, name)
            if os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) < 3 << 20:
                with open(p, "rb") as fh:
                    head = fh.read(20)
                if head[:4] == b"\x7fELF" and head[16] in (2, 3):
                    cands.append(p)
    bins = sorted(random.Random(7).sample(cands, min(nbins, len(cands))))
    (d / "a.c").write_text(C_SRC)
    (d / "b.cc").write_text(CPP_SRC)
    (d / "l.c").write_text("int xc_foo(int x) { return x + 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(d / "libxc.so"), str(d / "l.c")],
                   check=True)
    dwarf = []
    for i, (cc, src, flags) in enumerate([
            ("gcc", "a.c", ["-O2", "-gdwarf-4"]), ("gcc", "a.c", ["-O2", "-gdwarf-5"]),
            ("gcc", "a.c", ["-O0", "-g"]), ("gcc", "a.c", ["-O2", "-g", "-gz"]),
            ("g++", "b.cc", ["-O2", "-gdwarf-4"]), ("g++", "b.cc", ["-O2", "-g"])]):
        out = d / f"prog{i}"
        subprocess.run([cc, *flags, "-o", str(out), str(d / src), "-L", str(d), "-lxc"],
                       check=True)
        dwarf.append(out)
    for lib in ("libsframe.so.0", "libasan.so.8", "libubsan.so.1", "liblsan.so.0"):
        p = Path("/usr/lib/x86_64-linux-gnu") / lib
        if p.is_file():
            (d / lib).write_bytes(p.read_bytes())
            dwarf.append(d / lib)
    for p in dwarf:
        _hide_symtab(p)
    return {"objects": objs, "binaries": bins, "dwarf": [str(p) for p in dwarf]}


def _items(x: object) -> list[object]:
    """The sites (or symbols) of one result, to compare as sets."""
    if isinstance(x, list) and x and isinstance(x[0], list) and x[0] and \
            isinstance(x[0][0], list):
        return [i for part in x for i in part]  # [sites, errors]
    if isinstance(x, list) and len(x) == 2 and isinstance(x[0], dict):
        return [*sorted(x[0].items()), *x[1]]  # [counts, sites]
    return x if isinstance(x, list) else [x]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="a5a8cf3")
    ap.add_argument("--new", default="worktree")
    ap.add_argument("--bins", type=int, default=150)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="abiguard-callsites-") as tmp:
        t = Path(tmp)
        (t / "corpus").mkdir()
        corpus = _corpus(t / "corpus", args.bins)
        (t / "corpus.json").write_text(json.dumps(corpus))
        (t / "runner.py").write_text(RUNNER)
        runs = {}
        for label, rev in (("old", args.old), ("new", args.new)):
            src = _export(rev, t / label)
            subprocess.run([sys.executable, str(t / "runner.py"), str(src),
                            str(t / "corpus.json"), str(t / f"{label}.json")], check=True,
                           env={**os.environ, "PYTHONPATH": str(src)})
            runs[label] = json.loads((t / f"{label}.json").read_text())
    old, new = runs["old"]["results"], runs["new"]["results"]
    print(f"{'part':10s} {'inputs':>7s} {'identical':>9s} {'old CPU s':>10s} {'new CPU s':>10s}")
    for part in old:
        keys = sorted(set(old[part]) | set(new[part]))
        same = [k for k in keys if old[part].get(k) == new[part].get(k)]
        print(f"{part:10s} {len(keys):7d} {len(same):9d} {runs['old']['times'][part]:10.1f} "
              f"{runs['new']['times'][part]:10.1f}")
        for k in keys:
            a, b = old[part].get(k), new[part].get(k)
            if a != b:
                print(f"  differs: {k}")
                for label, x, y in (("only old", a, b), ("only new", b, a)):
                    xs = {json.dumps(i) for i in _items(x)} - {json.dumps(i) for i in _items(y)}
                    for item in sorted(xs)[:3]:
                        print(f"    {label}: {item[:200]}")
                    if len(xs) > 3:
                        print(f"    {label}: ... {len(xs) - 3} more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
