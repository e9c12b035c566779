"""Seed inputs of every fuzz target.

Seeds are built once into abiguard's cache (``$ABIGUARD_CACHE/fuzz-seeds/v2``, by default
``~/.cache/abiguard/fuzz-seeds/v2``) and reused:

* ELF: gcc-built libraries, programs and objects like the tests build (versioned library,
  programs with RUNPATH/RPATH, copy relocations, stripped, without section headers, 32-bit,
  relocatable objects), hand-built images of all four class/byte-order pairs (tests/helpers/elfbuild),
  small shared libraries of this machine (/usr/lib/x86_64-linux-gnu) and, when the tests have
  cached them, Debian's qemu-system-xen binary and the Xen libraries.
* ar: static libraries (gcc-built in GNU and BSD styles, small ones of this machine, Xen's
  libxenctrl.a when cached) and .deb files (they are ar archives too).
* deb: .debs built with dpkg-deb (with maintainer scripts), the hand-made ones of
  tests/test_inputs.py, and the cached real packages (qemu-system-xen, Xen libraries).
* policy/remedies/baseline: the built-in TOML files, documentation-sized examples and a
  baseline written by ``gate --update-baseline``'s writer.
* audit/plan: JSON results of scanning and planning the gcc-built fixtures.
"""

from __future__ import annotations

import glob
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VERSION = "v3"  # bumped when the seeds change (v2: hand-built ELF seeds have relocations;
# v3: programs with DWARF 4/5, 32/64-bit, compressed with zlib, zlib-gnu and zstd)


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes


def _tests_on_path() -> None:
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


def seed_root() -> Path:
    from abiguard.cachedir import cache_dir

    return cache_dir() / "fuzz-seeds" / VERSION


# --------------------------------------------------------------------------------------------
# Builders (run once; results cached)
# --------------------------------------------------------------------------------------------

LIB_C = r"""
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@VERS_1");
__asm__(".symver foo_v2, foo@@VERS_2");
int bar1(void) { return 3; }
extern char *getenv(const char *);
int bar2(void) { return getenv("X") ? 4 : 5; }
int vers_data = 5;
__thread int tls_var = 1;
__attribute__((visibility("hidden"))) int hidden_fn(void) { return 6; }
__attribute__((visibility("protected"))) int prot_fn(void) { return 7; }
"""
LIB_MAP = """
VERS_1 { global: foo; bar1; vers_data; tls_var; local: *; };
VERS_2 { global: foo; bar2; prot_fn; } VERS_1;
"""
UNSTABLE_C = "int unst_open(void) { return 3; }\nint unst_close(int x) { return x; }\n"
PROG_C = r"""
#include <stdio.h>
extern int foo(void);
extern int bar1(void);
extern int vers_data;
extern int unst_open(void);
extern int weak_fn(void) __attribute__((weak));
int main(void) {
    printf("%d\n", foo() + bar1() + vers_data + unst_open() + (weak_fn ? weak_fn() : 0));
    return 0;
}
"""
OBJ_C = r"""
#include <stdio.h>
extern int ext_fn(int);
extern int ext_weak(void) __attribute__((weak));
int global_var = 1;
static int static_var = 2;
static int local_fn(void) { return static_var; }
int obj_fn(void) { puts("x"); return ext_fn(global_var) + local_fn() + (ext_weak ? ext_weak() : 0); }
"""


def _build_elf_fixtures(d: Path) -> None:
    _tests_on_path()
    from helpers.cfixtures import gcc, write
    from helpers.elfbuild import (
        Exp,
        Imp,
        Spec,
        build_ar,
        build_elf,
        gcc_works,
        strip_section_headers,
    )

    d.mkdir(parents=True, exist_ok=True)
    src = d / "src"
    lib = src / "libvers.so.1"
    write(src / "libvers.c", LIB_C)
    write(src / "libvers.map", LIB_MAP)
    gcc("-shared", "-fPIC", "-O1", "-o", lib, src / "libvers.c", "-Wl,-soname,libvers.so.1",
        f"-Wl,--version-script={src / 'libvers.map'}")
    (src / "libvers.so").symlink_to("libvers.so.1")
    unst = src / "libunst.so.4.17"
    write(src / "libunst.c", UNSTABLE_C)
    write(src / "libunst.map", "VERS_4.17.0 { global: unst_*; local: *; };\n")
    gcc("-shared", "-fPIC", "-o", unst, src / "libunst.c", "-Wl,-soname,libunst.so.4.17",
        f"-Wl,--version-script={src / 'libunst.map'}")
    (src / "libunst.so").symlink_to("libunst.so.4.17")
    write(src / "prog.c", PROG_C)
    prog = src / "prog"
    gcc(src / "prog.c", "-o", prog, "-L", src, "-lvers", "-lunst",
        "-Wl,-rpath,$ORIGIN/lib:/opt/x", "-Wl,--enable-new-dtags")
    prog_nopie = src / "prog_nopie"
    gcc(src / "prog.c", "-o", prog_nopie, "-no-pie", "-L", src, "-lvers", "-lunst",
        "-Wl,-rpath,$ORIGIN", "-Wl,--disable-new-dtags", "-Wl,-z,nodefaultlib")
    write(src / "obj.c", OBJ_C)
    obj = src / "obj.o"
    gcc("-c", "-fPIC", "-o", obj, src / "obj.c")
    obj_many = src / "sections.o"
    gcc("-c", "-ffunction-sections", "-fdata-sections", "-g", "-o", obj_many, src / "obj.c")
    out = {
        "gcc-libvers.so": lib.read_bytes(),
        "gcc-libunst.so": unst.read_bytes(),
        "gcc-prog": prog.read_bytes(),
        "gcc-prog-nopie-rpath": prog_nopie.read_bytes(),
        "gcc-prog-noshdr": strip_section_headers(prog.read_bytes()),
        "gcc-libvers-noshdr.so": strip_section_headers(lib.read_bytes()),
        "gcc-obj.o": obj.read_bytes(),
        "gcc-sections-debug.o": obj_many.read_bytes(),
    }
    # DWARF for the subprogram ranges of where --binary, in its encodings
    for name, flags in (("dwarf5", ["-g"]), ("dwarf4-gz", ["-gdwarf-4", "-gz"]),
                        ("dwarf4-zdebug", ["-gdwarf-4", "-gz=zlib-gnu"]),
                        ("dwarf64", ["-g", "-gdwarf64"]), ("dwarf3", ["-gdwarf-3"])):
        dbg = src / f"prog-{name}"
        gcc("-O2", *flags, src / "prog.c", "-o", dbg, "-L", src, "-lvers", "-lunst")
        out[f"gcc-prog-{name}"] = dbg.read_bytes()
    if shutil.which("objcopy"):
        zstd = src / "prog-dwarf5-zstd"
        subprocess.run(["objcopy", "--compress-debug-sections=zstd", str(src / "prog-dwarf5"),
                        str(zstd)], capture_output=True, check=False)
        if zstd.exists():
            out["gcc-prog-dwarf5-zstd"] = zstd.read_bytes()
    if shutil.which("strip"):
        stripped = src / "prog_stripped"
        subprocess.run(["strip", "-o", str(stripped), str(prog)], capture_output=True,
                       check=False)
        if stripped.exists():
            out["gcc-prog-stripped"] = stripped.read_bytes()
    if gcc_works("-m32", tmp=src):
        lib32 = src / "libvers32.so.1"
        gcc("-m32", "-shared", "-fPIC", "-o", lib32, src / "libvers.c",
            "-Wl,-soname,libvers.so.1", f"-Wl,--version-script={src / 'libvers.map'}")
        out["gcc-libvers32.so"] = lib32.read_bytes()
        obj32 = src / "obj32.o"
        gcc("-m32", "-c", "-o", obj32, src / "obj.c")
        out["gcc-obj32.o"] = obj32.read_bytes()
    machines = {(32, False): 3, (64, False): 62, (32, True): 20, (64, True): 22}
    for (bits, big), machine in machines.items():
        for sections, hash_ in ((True, "sysv"), (False, "sysv"), (False, "gnu")):
            spec = Spec(bits=bits, big=big, machine=machine, interp="/lib/ld.so.1",
                        runpath="$ORIGIN/../lib", rpath="/opt/lib", flags_1=0x800,
                        needed=("libc.so.6", "libm.so.6"),
                        imports=[Imp("puts", "GLIBC_2.0", "libc.so.6"), Imp("weakfn", weak=True),
                                 Imp("cos", "GLIBC_2.1", "libm.so.6")],
                        exports=[Exp("hand_a", "HAND_1.0"), Exp("hand_b", "HAND_2.0"),
                                 Exp("old", "HAND_1.0", hidden=True), Exp("uniq", bind=10,
                                                                          type=10)],
                        verdefs=[("HAND_1.0", []), ("HAND_2.0", ["HAND_1.0"])],
                        weak_versions=["GLIBC_2.1"], locals=["loc"], sections=sections,
                        hash=hash_, relocs=[("puts", 6), ("hand_a", 5), ("loc", 1)],
                        plt_relocs=[("cos", 7)], rela=machine != 3, relative=2)
            name = f"hand-{bits}{'be' if big else 'le'}-{'shdr' if sections else 'noshdr'}-{hash_}"
            out[name] = build_elf(spec).data
    for name, data in out.items():
        (d / name).write_bytes(data)
    ar = d.parent / "ar"
    ar.mkdir(parents=True, exist_ok=True)
    members = [("obj.o", out["gcc-obj.o"]), ("a_member_with_a_long_name.o", out["gcc-obj.o"]),
               ("notes.txt", b"not an object\n")]
    (ar / "gnu-style.a").write_bytes(build_ar(members, style="gnu"))
    (ar / "bsd-style.a").write_bytes(build_ar(members, style="bsd"))
    if "gcc-obj32.o" in out:
        (ar / "gnu-32.a").write_bytes(build_ar([("obj32.o", out["gcc-obj32.o"])]))
    if shutil.which("ar"):
        real = ar / "ar-rcs.a"
        subprocess.run(["ar", "rcs", str(real), "obj.o", "sections.o"], cwd=src,
                       capture_output=True, check=False)


def _tar(entries: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _entry(name: str, data: bytes | None = None, *, kind: bytes = tarfile.REGTYPE,
           link: str = "", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = mode
    if data is not None:
        info.size = len(data)
    return info, data


def ar_pack(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        out += data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def fake_deb(entries: list[tuple[tarfile.TarInfo, bytes | None]], package: str = "fuzz",
             data_name: str = "data.tar.gz", mode: str = "w:gz") -> bytes:
    text = f"Package: {package}\nVersion: 1.0\nArchitecture: amd64\n".encode()
    control = _tar([_entry("./control", text)])
    return ar_pack([("debian-binary", b"2.0\n"), ("control.tar.gz", control),
                    (data_name, _tar(entries, mode))])


def _build_debs(d: Path, elf_dir: Path) -> None:
    _tests_on_path()
    from helpers.debbuild import build_deb

    d.mkdir(parents=True, exist_ok=True)
    lib = (elf_dir / "gcc-libunst.so").read_bytes()
    prog = (elf_dir / "gcc-prog").read_bytes()
    with tempfile.TemporaryDirectory() as t:
        root = Path(t) / "pkg"
        (root / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
        (root / "usr/bin").mkdir(parents=True)
        (root / "usr/lib/x86_64-linux-gnu/libunst.so.4.17").write_bytes(lib)
        (root / "usr/lib/x86_64-linux-gnu/libunst.so").symlink_to("libunst.so.4.17")
        (root / "usr/bin/tool").write_bytes(prog)
        (root / "usr/bin/tool").chmod(0o755)
        (root / "etc").mkdir()
        (root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n/opt/lib\n")
        (root / "DEBIAN").mkdir()
        for script in ("postinst", "preinst"):
            (root / "DEBIAN" / script).write_text("#!/bin/sh\ntouch /tmp/abiguard-fuzz-ran\n")
            (root / "DEBIAN" / script).chmod(0o755)
        out = build_deb(root, Path(t) / "out", "tool", "1.2-3", depends="libc6 (>= 2.34)")
        shutil.copy(out, d / "dpkg-deb-gzip.deb")
        for comp in ("xz", "zstd", "none"):
            dest = Path(t) / f"tool-{comp}.deb"
            proc = subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{comp}", "--build",
                                   str(root), str(dest)], capture_output=True, check=False)
            if proc.returncode == 0:
                shutil.copy(dest, d / f"dpkg-deb-{comp}.deb")
    link = tarfile.TarInfo("./usr/lib/libx.so")
    link.type, link.linkname = tarfile.SYMTYPE, "/usr/lib/libx.so.1"
    hard = tarfile.TarInfo("./usr/lib/libx-hard.so.1")
    hard.type, hard.linkname = tarfile.LNKTYPE, "./usr/lib/libx.so.1"
    (d / "hand-symlinks.deb").write_bytes(fake_deb([
        _entry("./usr/", kind=tarfile.DIRTYPE, mode=0o755),
        _entry("./usr/lib/libx.so.1", lib), (link, None), (hard, None),
        _entry("./usr/share/doc/x/copyright", b"text\n")]))
    (d / "hand-xz.deb").write_bytes(fake_deb([_entry("./usr/bin/tool", prog)],
                                             data_name="data.tar.xz", mode="w:xz"))
    (d / "hand-plain-tar.deb").write_bytes(fake_deb([_entry("./usr/bin/tool", prog)],
                                                    data_name="data.tar", mode="w"))
    (d / "hand-bz2.deb").write_bytes(fake_deb([_entry("./usr/bin/x", b"\x7fELF" + bytes(64))],
                                              data_name="data.tar.bz2", mode="w:bz2"))


def _build_data(d: Path, elf_dir: Path) -> None:
    from abiguard.compare import baseline_from_audit, baseline_text
    from abiguard.jsonform import to_json
    from abiguard.pipeline import ScanOptions, plan_paths, scan_paths

    d.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        root = Path(t)
        for name in ("gcc-libvers.so", "gcc-libunst.so", "gcc-prog", "gcc-obj.o"):
            shutil.copy(elf_dir / name, root / name)
        (root / "libvers.so.1").symlink_to("gcc-libvers.so")
        (root / "libunst.so.4.17").symlink_to("gcc-libunst.so")
        opts = ScanOptions(lib_paths=[str(root)])
        audit = scan_paths([str(root / "gcc-prog"), str(root / "gcc-obj.o"),
                            str(root / "missing.so")], opts)
        (d / "scan.json").write_text(to_json(audit))
        (d / "scan-compact.json").write_text(to_json(audit, indent=None))
        plan = plan_paths([str(root / "gcc-prog")], opts)
        (d / "plan.json").write_text(to_json(plan))
        base = baseline_from_audit(audit)
        (d / "baseline.toml").write_text(baseline_text(base))
    (d / "baseline-hand.toml").write_text(
        'schema = 1\n\n[consumers."/usr/bin/tool"]\n"libxenctrl.so" = ["xc_a", "xc_b"]\n'
        '\n[consumers."qemu-system-xen:/usr/libexec/x"]\nlibfoo = []\n')
    (d / "policy-hand.toml").write_text(
        'schema = 1\nname = "hand"\ndescription = "x"\n\n[[library]]\nmatch = "libfoo.so.*"\n'
        'stability = "unstable"\nreason = "r"\nreferences = ["https://example.org"]\n\n'
        '[[symbol]]\nmatch = "foo_*"\nlibrary = "libfoo*"\nversion = "FOO_1*"\n'
        'stability = "private"\nreason = "internal"\n')
    (d / "remedies-hand.toml").write_text(
        'schema = 1\nname = "hand"\nlibrary = "libfoo.so.*"\n\n[[group]]\nid = "g"\n'
        'title = "T"\nkind = "redesign"\nrationale = "r"\n\n[[remedy]]\nsymbols = ["foo_a", '
        '"foo_b*"]\nkind = "replace"\ndifficulty = 2\nrationale = "use bar"\n'
        'references = ["x"]\ncall_sites = ["f"]\n\n[[remedy.replacement]]\nsymbol = "bar_a"\n'
        'library = "libbar.so.1"\nsince = "BAR_1.1"\nsince_release = "4.1"\n\n'
        '[[remedy]]\nsymbols = ["foo_c"]\nkind = "redesign"\ngroup = "g"\nrationale = "x"\n')


def ensure_built() -> Path:
    """Build the seed files once (cached) and return their root."""
    root = seed_root()
    stamp = root / ".complete"
    if stamp.exists():
        return root
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root.parent if root.parent.exists()
                                else _mkdir(root.parent)))
    try:
        _build_elf_fixtures(tmp / "elf")
        _build_debs(tmp / "deb", tmp / "elf")
        _build_data(tmp / "data", tmp / "elf")
        (tmp / ".complete").write_text("ok\n")
        if root.exists():
            shutil.rmtree(root, ignore_errors=True)
        os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


# --------------------------------------------------------------------------------------------
# Seed sets per target
# --------------------------------------------------------------------------------------------


def _files(pattern: str, max_size: int, limit: int) -> list[Path]:
    """Up to ``limit`` regular files matching pattern, at most max_size bytes, spread evenly
    over the sorted list (deterministic)."""
    paths = sorted(p for p in glob.glob(pattern) if os.path.isfile(p) and
                   not os.path.islink(p) and 0 < os.path.getsize(p) <= max_size)
    if len(paths) > limit:
        step = len(paths) / limit
        paths = [paths[int(i * step)] for i in range(limit)]
    return [Path(p) for p in paths]


_REAL = ("qemu-system-xen_", "libxenmisc4.17_", "libxendevicemodel1_", "libxenstore4_",
         "libxen-dev_")


def _cached_debs(pattern: str = "*.deb") -> list[str]:
    """The .debs in abiguard's download cache (``debs/<SHA-256>/<file>``)."""
    from abiguard.cachedir import cache_dir

    return sorted(glob.glob(str(cache_dir() / "debs" / "*" / pattern)))


def _real_roots() -> list[Path]:
    """The cached real Xen/qemu packages unpacked (dpkg-deb -x) into the seed directory,
    one root per .deb (by its SHA-256 directory)."""
    out = []
    for deb in _cached_debs():
        if not os.path.basename(deb).startswith(_REAL):
            continue
        root = seed_root() / "real-roots" / os.path.basename(os.path.dirname(deb))
        if not (root / ".complete").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            if subprocess.run(["dpkg-deb", "-x", deb, str(root)], check=False).returncode:
                continue
            (root / ".complete").write_text("ok\n")
        out.append(root)
    return out


def _read(paths: list[Path], prefix: str) -> list[Seed]:
    out = []
    for p in paths:
        try:
            out.append(Seed(f"{prefix}{p.name}", p.read_bytes()))
        except OSError:
            continue
    return out


def elf_seeds(max_size: int = 32 << 20, system: int = 24) -> list[Seed]:
    root = ensure_built()
    seeds = _read(sorted((root / "elf").iterdir()), "")
    seeds += _read(_files("/usr/lib/x86_64-linux-gnu/*.so*", min(max_size, 512 << 10), system),
                   "system:")
    for r in _real_roots():
        for rel in ("usr/libexec/xen-qemu-system-i386",
                    "usr/lib/x86_64-linux-gnu/libxenctrl.so.4.17.0",
                    "usr/lib/x86_64-linux-gnu/libxendevicemodel.so.1.4",
                    "usr/lib/x86_64-linux-gnu/libxenstore.so.4.0"):
            p = r / rel
            if p.is_file() and p.stat().st_size <= max_size:
                seeds += _read([p], f"debian:{r.name[:24]}:")
    return seeds


def ar_seeds(max_size: int = 4 << 20, system: int = 6) -> list[Seed]:
    root = ensure_built()
    seeds = _read(sorted((root / "ar").iterdir()), "")
    seeds += _read(_files("/usr/lib/x86_64-linux-gnu/*.a", min(max_size, 256 << 10), system),
                   "system:")
    for r in _real_roots():
        p = r / "usr/lib/x86_64-linux-gnu/libxenctrl.a"
        if p.is_file() and p.stat().st_size <= max_size:
            seeds += _read([p], "debian:")
    seeds += [s for s in deb_seeds(max_size=256 << 10, real=2) if not s.name.startswith("debian")]
    return seeds


def deb_seeds(max_size: int = 4 << 20, real: int = 4) -> list[Seed]:
    from abiguard.cachedir import cache_dir

    root = ensure_built()
    seeds = _read(sorted((root / "deb").iterdir()), "")
    cached = _files(str(cache_dir() / "debs" / "*" / "*.deb"), min(max_size, 600 << 10), real)
    qemu = _cached_debs("qemu-system-xen_*.deb")
    if qemu and os.path.getsize(qemu[0]) <= max_size:
        cached.append(Path(qemu[0]))
    return seeds + _read(cached, "debian:")


def _builtin_toml(folder: str, hand: str) -> list[Seed]:
    """The TOML files abiguard ships in data/<folder>, and a hand-written one of the build."""
    from importlib import resources

    root = ensure_built()
    files = resources.files("abiguard") / "data" / folder
    seeds = [Seed(f"built-in:{e.name}", e.read_bytes()) for e in files.iterdir()
             if e.name.endswith(".toml")]
    return seeds + _read([root / "data" / hand], "")


def policy_seeds() -> list[Seed]:
    return _builtin_toml("policies", "policy-hand.toml")


def remedies_seeds() -> list[Seed]:
    return _builtin_toml("remedies", "remedies-hand.toml")


def baseline_seeds() -> list[Seed]:
    root = ensure_built()
    return _read([root / "data" / "baseline.toml", root / "data" / "baseline-hand.toml"], "")


def audit_seeds() -> list[Seed]:
    root = ensure_built()
    return _read([root / "data" / "scan.json", root / "data" / "scan-compact.json",
                  root / "data" / "plan.json"], "")


def plan_seeds() -> list[Seed]:
    root = ensure_built()
    return _read([root / "data" / "plan.json", root / "data" / "scan.json"], "")
