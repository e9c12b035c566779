"""A small C project built with gcc at test time: a fake ABI-unstable library ``libxc.so``
(xc_a, xc_b, xc_c, xc_unused under a version script) and a program of three .c files and one
static archive that uses it in known ways.

Known references (what every test checks against):

====================  ===========================  ======================================
symbol                where                         how
====================  ===========================  ======================================
xc_a                  main.c ``main``              call            (line ``LINE_MAIN_A``)
xc_a                  main.c ``helper`` (static)   call            (line ``LINE_HELPER_A``)
xc_c                  main.c ``main``              address taken   (line ``LINE_MAIN_C``)
xc_a                  util.c ``util_fn``           call (-O2)
xc_b                  util.c ``wrap_b``            tail call, a ``jmp`` at -O2
xc_c                  util.c ``xc_table``          data: function pointer in a table
xc_b                  libstuff.a(lib.o) ``lib_fn`` call
====================  ===========================  ======================================

So in a binary: xc_a 3 calls, xc_b 1 call + 1 jump, xc_c 1 address load + 1 data reference.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

LIBXC_C = """\
int xc_a(int x) { return x + 1; }
int xc_b(void) { return 42; }
int xc_c(int x) { return x * 2; }
int xc_unused(void) { return 0; }
"""

LIBXC_MAP = """\
XC_1.0 {
  global: xc_a; xc_b; xc_c; xc_unused;
  local: *;
};
"""

XC_H = """\
int xc_a(int x);
int xc_b(void);
int xc_c(int x);
"""

MAIN_C = """\
#include "xc.h"
int util_fn(int x);
int wrap_b(void);
int lib_fn(void);

static int helper(int x)
{
    return xc_a(x) * 3;           /* line 8: xc_a from a static function */
}

int main(int argc, char **argv)
{
    int (*volatile fp)(int) = xc_c;   /* line 13: address of xc_c */
    int r = xc_a(argc);           /* line 14: xc_a from main */
    r += helper(r);
    r += util_fn(r);
    r += wrap_b();
    r += lib_fn();
    (void)argv;
    return fp(r) & 0x7f;
}
"""
LINE_HELPER_A, LINE_MAIN_C, LINE_MAIN_A = 8, 13, 14

UTIL_C = """\
#include "xc.h"
int (*const xc_table[])(int) = { xc_c };

int util_fn(int x)
{
    return xc_a(x) + 1;
}

int wrap_b(void)
{
    return xc_b();
}
"""

LIB_C = """\
#include "xc.h"
int lib_fn(void)
{
    return xc_b() * 2;
}
"""

# (symbol, file, function) as both `where --objects` and `link --without xc` must report them.
EXPECTED_OBJECT_REFS = {
    ("xc_a", "main.o", "main"),
    ("xc_a", "main.o", "helper"),
    ("xc_c", "main.o", "main"),
    ("xc_a", "util.o", "util_fn"),
    ("xc_b", "util.o", "wrap_b"),
    ("xc_c", "util.o", None),
    ("xc_b", "libstuff.a(lib.o)", "lib_fn"),
}

# (symbol, kind) -> count of sites in a linked binary.
EXPECTED_BINARY_COUNTS = {
    ("xc_a", "call"): 3,
    ("xc_b", "call"): 1,
    ("xc_b", "jump"): 1,
    ("xc_c", "got-load"): 1,
    ("xc_c", "reference"): 1,
}
# Enclosing function of each site in an unstripped binary.
EXPECTED_BINARY_FUNCTIONS = {
    ("xc_a", "main"), ("xc_a", "helper"), ("xc_a", "util_fn"), ("xc_b", "wrap_b"),
    ("xc_b", "lib_fn"), ("xc_c", "main"),
}

_CACHE: dict[tuple, Path] = {}


def run(cmd: list[str], cwd: Path) -> None:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr}")


def build_project(base: Path, *, cc: str = "gcc", variant: str = "plt",
                  strip: bool = True) -> Path:
    """Build the library, objects, archive and program ``prog`` (and ``prog.stripped``).

    variant: ``plt`` (default lazy PLT, PIE), ``now`` (-z now with -fcf-protection: .plt.sec),
    ``noplt`` (-fno-plt: calls through the GOT), ``nopie`` (-no-pie, canonical PLT entries).
    Results are cached per (base, cc, variant) for the whole test session.
    """
    key = (str(base), cc, variant)
    if key in _CACHE:
        return _CACHE[key]
    d = base / f"{Path(cc).name}-{variant}"
    d.mkdir(parents=True, exist_ok=True)
    for name, text in (("libxc.c", LIBXC_C), ("libxc.map", LIBXC_MAP), ("xc.h", XC_H),
                       ("main.c", MAIN_C), ("util.c", UTIL_C), ("lib.c", LIB_C)):
        (d / name).write_text(text)
    cflags: list[str] = []
    ldflags: list[str] = []
    if variant == "now":
        cflags += ["-fcf-protection=full"] if "x86" in _target(cc) else []
        ldflags += ["-Wl,-z,now"] + (["-Wl,-z,ibtplt"] if "x86" in _target(cc) else [])
    elif variant == "noplt":
        cflags += ["-fno-plt"]
    elif variant == "nopie":
        cflags += ["-fno-pie"]
        ldflags += ["-no-pie"]
    run([cc, "-shared", "-fPIC", "-o", "libxc.so", "-Wl,--version-script=libxc.map",
         "-Wl,-soname,libxc.so.1", "libxc.c"], d)
    run([cc, *cflags, "-O0", "-g", "-c", "main.c"], d)
    run([cc, *cflags, "-O2", "-c", "util.c"], d)
    run([cc, *cflags, "-O0", "-c", "lib.c"], d)
    ar = cc[:-3] + "ar" if cc.endswith("gcc") and cc != "gcc" else "ar"
    (d / "libstuff.a").unlink(missing_ok=True)
    run([ar, "rcs", "libstuff.a", "lib.o"], d)
    run([cc, *ldflags, "-o", "prog", "main.o", "util.o", "libstuff.a", "-L.", "-lxc"], d)
    if strip:
        strip_tool = cc[:-3] + "strip" if cc.endswith("gcc") and cc != "gcc" else "strip"
        shutil.copy(d / "prog", d / "prog.stripped")
        run([strip_tool, "prog.stripped"], d)
    _CACHE[key] = d
    return d


def _target(cc: str) -> str:
    res = subprocess.run([cc, "-dumpmachine"], capture_output=True, text=True)
    return res.stdout.strip()


def link_command() -> list[str]:
    """The program's link command (run in the project directory)."""
    return ["gcc", "-o", "prog", "main.o", "util.o", "libstuff.a", "-L.", "-lxc"]
