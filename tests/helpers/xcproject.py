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
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
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
        # BIND_NOW with the IBT/BTI PLT: x86-64 .plt.sec entries, AArch64 "bti c" stubs.
        if "x86" in _target(cc):
            cflags += ["-fcf-protection=full"]
            ldflags += ["-Wl,-z,now", "-Wl,-z,ibtplt"]
        else:
            cflags += ["-mbranch-protection=standard"]
            ldflags += ["-Wl,-z,now", "-Wl,-z,force-bti"]
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
    res = subprocess.run([cc, "-dumpmachine"], capture_output=True, text=True, check=False)
    return res.stdout.strip()


def link_command() -> list[str]:
    """The program's link command (run in the project directory)."""
    return ["gcc", "-o", "prog", "main.o", "util.o", "libstuff.a", "-L.", "-lxc"]


# --------------------------------------------------------------------------------------------
# AArch64 without a cross compiler: the same project in assembly, built with binutils only.
# (Debian's gcc-aarch64-linux-gnu conflicts with gcc-multilib; binutils-aarch64-linux-gnu
# does not.)
# --------------------------------------------------------------------------------------------

A64_AS = "aarch64-linux-gnu-as"
A64_LD = "aarch64-linux-gnu-ld"
A64_GCC = "aarch64-linux-gnu-gcc"


def have_aarch64() -> bool:
    return bool(shutil.which(A64_GCC) or (shutil.which(A64_AS) and shutil.which(A64_LD)))


def _a64_func(name: str, body: str, *, local: bool = False, bti: bool = False) -> str:
    vis = f"\t.local {name}\n" if local else f"\t.global {name}\n"
    pro = "\tbti c\n" if bti else ""
    return (f"\t.text\n\t.p2align 2\n{vis}\t.type {name}, %function\n{name}:\n{pro}{body}"
            f"\t.size {name}, .-{name}\n")


def _a64_call(sym: str, noplt: bool) -> str:
    if noplt:
        return f"\tadrp x16, :got:{sym}\n\tldr x16, [x16, :got_lo12:{sym}]\n\tblr x16\n"
    return f"\tbl {sym}\n"


def _a64_sources(variant: str) -> dict[str, str]:
    noplt, nopie, bti = variant == "noplt", variant == "nopie", variant == "now"
    frame_in = "\tstp x29, x30, [sp, #-32]!\n\tmov x29, sp\n"
    frame_out = "\tldp x29, x30, [sp], #32\n\tret\n"
    if nopie:
        addr_c = "\tadrp x0, xc_c\n\tadd x0, x0, :lo12:xc_c\n"
    else:
        addr_c = "\tadrp x0, :got:xc_c\n\tldr x0, [x0, :got_lo12:xc_c]\n"
    main = (
        _a64_func("helper", frame_in + _a64_call("xc_a", noplt) + frame_out, local=True,
                  bti=bti)
        + _a64_func("main", frame_in + addr_c + "\tstr x0, [sp, #16]\n"
                    + _a64_call("xc_a", noplt) + "\tbl helper\n\tbl util_fn\n\tbl wrap_b\n"
                    "\tbl lib_fn\n" + frame_out, bti=bti)
        + _a64_func("_start", "\tbl main\n\tmov x8, #93\n\tsvc #0\n", bti=bti)
    )
    if noplt:
        tail = "\tadrp x16, :got:xc_b\n\tldr x16, [x16, :got_lo12:xc_b]\n\tbr x16\n"
    else:
        tail = "\tb xc_b\n"
    util = (
        "\t.section .data.rel.ro,\"aw\"\n\t.p2align 3\n\t.global xc_table\n"
        "\t.type xc_table, %object\nxc_table:\n\t.xword xc_c\n\t.size xc_table, 8\n"
        + _a64_func("util_fn", frame_in + _a64_call("xc_a", noplt) + frame_out, bti=bti)
        + _a64_func("wrap_b", tail, bti=bti)
    )
    lib = _a64_func("lib_fn", frame_in + _a64_call("xc_b", noplt) + frame_out, bti=bti)
    libxc = "".join(_a64_func(n, "\tmov w0, #1\n\tret\n")
                    for n in ("xc_a", "xc_b", "xc_c", "xc_unused"))
    return {"main.s": main, "util.s": util, "lib.s": lib, "libxc.s": libxc}


def build_aarch64(base: Path, variant: str = "plt", strip: bool = True) -> Path:
    """The project for AArch64: with the cross gcc when installed, else from assembly."""
    if shutil.which(A64_GCC):
        return build_project(base, cc=A64_GCC, variant=variant, strip=strip)
    key = (str(base), "aarch64-asm", variant)
    if key in _CACHE:
        return _CACHE[key]
    d = base / f"aarch64-asm-{variant}"
    d.mkdir(parents=True, exist_ok=True)
    for name, text in _a64_sources(variant).items():
        (d / name).write_text(text)
    (d / "libxc.map").write_text(LIBXC_MAP)
    for name in ("main", "util", "lib", "libxc"):
        run([A64_AS, "-o", f"{name}.o", f"{name}.s"], d)
    run([A64_LD, "-shared", "-soname", "libxc.so.1", "--version-script", "libxc.map",
         "-o", "libxc.so", "libxc.o"], d)
    (d / "libstuff.a").unlink(missing_ok=True)
    run(["aarch64-linux-gnu-ar", "rcs", "libstuff.a", "lib.o"], d)
    flags = ["-no-pie"] if variant == "nopie" else ["-pie"]
    if variant == "now":
        flags += ["-z", "now", "-z", "force-bti"]
    run([A64_LD, *flags, "--dynamic-linker", "/lib/ld-linux-aarch64.so.1", "-o", "prog",
         "main.o", "util.o", "libstuff.a", "-L.", "-lxc"], d)
    if strip:
        shutil.copy(d / "prog", d / "prog.stripped")
        run(["aarch64-linux-gnu-strip", "prog.stripped"], d)
    _CACHE[key] = d
    return d
