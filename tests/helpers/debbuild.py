"""Build tiny .deb packages holding gcc-built programs and libraries (no network needed).

``toy_archive(dir)`` builds a small "distribution": an ABI-unstable library package
(libtoy4.17: libtoy.so.4.17, version node TOY_4.17.0, like Xen's libxenctrl), a stable one
(libstab1: libstab.so.1, node STAB_1.0), consumers using different subsets of the unstable
symbols, a package without ELF files and a corrupt .deb. ``TOY_EXPECTED`` is what a census
must find: package -> the unstable symbols it imports.

``fake_deb``, ``ar_pack``, ``tar_bytes`` and ``file_entry`` make .debs by hand, byte by byte
(no dpkg-deb): for members dpkg-deb would refuse to pack.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

from .cfixtures import gcc, write

MULTIARCH = "usr/lib/x86_64-linux-gnu"

TOY_SYMBOLS = ("toy_open", "toy_close", "toy_map", "toy_unmap", "toy_domctl", "toy_sysctl")

# package -> (unstable symbols used, stable symbols used)
TOY_CONSUMERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "toy-emu": (("toy_open", "toy_close", "toy_map", "toy_unmap"), ("stab_get",)),
    "toy-virt": (("toy_open", "toy_close", "toy_map", "toy_unmap", "toy_domctl"), ()),
    "toy-utils": (("toy_open", "toy_close", "toy_domctl", "toy_sysctl"), ("stab_get",)),
    "toy-kexec": (("toy_open", "toy_close"), ()),
    "toy-clean": ((), ("stab_get", "stab_put")),
}
TOY_EXPECTED = {name: set(uses) for name, (uses, _) in TOY_CONSUMERS.items()}


def build_deb(root: Path, out_dir: Path, name: str, version: str = "1.0-1",
              arch: str = "amd64", depends: str = "", extra: str = "") -> Path:
    """dpkg-deb --build a package from a directory tree (DEBIAN/control written here)."""
    control = [f"Package: {name}", f"Version: {version}", f"Architecture: {arch}",
               "Maintainer: abiguard tests <tests@example.org>",
               f"Description: {name} (abiguard test package)"]
    if depends:
        control.insert(3, f"Depends: {depends}")
    if extra:
        control += extra.strip().splitlines()
    (root / "DEBIAN").mkdir(parents=True, exist_ok=True)
    (root / "DEBIAN" / "control").write_text("\n".join(control) + "\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}_{version.replace(':', '%3a')}_{arch}.deb"
    proc = subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root),
                           str(out)], check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"dpkg-deb --build {name} failed:\n{proc.stderr}")
    return out


def _program(src_dir: Path, dest: Path, unstable: tuple[str, ...], stable: tuple[str, ...],
             libdir: Path) -> None:
    decls = "".join(f"int {s}(int);\n" for s in unstable + stable)
    calls = " + ".join(f"{s}({i})" for i, s in enumerate(unstable + stable)) or "0"
    src = write(src_dir / f"{dest.name}.c", f"{decls}int main(void) {{ return {calls}; }}\n")
    links = []
    if unstable:
        links.append("-ltoy")
    if stable:
        links.append("-lstab")
    dest.parent.mkdir(parents=True, exist_ok=True)
    gcc("-O1", "-o", dest, src, f"-L{libdir}", *links)


def toy_archive(d: Path) -> dict[str, Path]:
    """Build the toy distribution in d/pool; returns package name -> .deb path."""
    build = d / "build"
    pool = d / "pool"
    libdir = build / "devlib"
    debs: dict[str, Path] = {}

    # libtoy4.17: ABI-unstable (release-numbered soname and version node)
    root = build / "libtoy4.17"
    src = write(build / "src" / "toy.c", "".join(
        f"int {s}(int x) {{ return x + {i}; }}\n" for i, s in enumerate(TOY_SYMBOLS)))
    vs = write(build / "src" / "toy.map", "TOY_4.17.0 { global: toy_*; local: *; };\n")
    lib = root / MULTIARCH / "libtoy.so.4.17"
    lib.parent.mkdir(parents=True, exist_ok=True)
    gcc("-shared", "-fPIC", "-O1", "-o", lib, src, "-Wl,-soname,libtoy.so.4.17",
        f"-Wl,--version-script={vs}")
    libdir.mkdir(parents=True, exist_ok=True)
    for link in ("libtoy.so",):
        (libdir / link).unlink(missing_ok=True)
        (libdir / link).symlink_to(lib)
    debs["libtoy4.17"] = build_deb(root, pool, "libtoy4.17", "4.17.1-1",
                                   depends="libc6 (>= 2.34), libstab1")

    # libstab1: stable (interface-numbered soname, version node STAB_1.0)
    root = build / "libstab1"
    src = write(build / "src" / "stab.c",
                "int stab_get(int x) { return x; }\nint stab_put(int x) { return -x; }\n")
    vs = write(build / "src" / "stab.map", "STAB_1.0 { global: stab_*; local: *; };\n")
    lib = root / MULTIARCH / "libstab.so.1"
    lib.parent.mkdir(parents=True, exist_ok=True)
    gcc("-shared", "-fPIC", "-O1", "-o", lib, src, "-Wl,-soname,libstab.so.1",
        f"-Wl,--version-script={vs}")
    (libdir / "libstab.so").unlink(missing_ok=True)
    (libdir / "libstab.so").symlink_to(lib)
    debs["libstab1"] = build_deb(root, pool, "libstab1", "1.2-3", depends="libc6 (>= 2.34)")

    for name, (unstable, stable) in TOY_CONSUMERS.items():
        root = build / name
        _program(build / "src", root / "usr" / "bin" / name, unstable, stable, libdir)
        deps = ["libc6 (>= 2.34)"] + (["libtoy4.17 (>= 4.17)"] if unstable else []) + \
            (["libstab1"] if stable else [])
        debs[name] = build_deb(root, pool, name, "2.0-1", depends=", ".join(deps))

    # a package with no ELF files, depending on the library (it is an rdepend too)
    root = build / "toy-doc"
    write(root / "usr" / "share" / "doc" / "toy-doc" / "README", "nothing to see\n")
    debs["toy-doc"] = build_deb(root, pool, "toy-doc", "2.0-1", arch="all",
                                depends="libtoy4.17")
    return debs


def corrupt_deb(d: Path, name: str = "toy-broken") -> Path:
    """A .deb named like a package that is not an ar archive at all."""
    d.mkdir(parents=True, exist_ok=True)
    out = d / f"{name}_1.0-1_amd64.deb"
    out.write_bytes(b"!<arch>\ndebian-binary   0           0     0     100644  4         `\n"
                    b"2.0\ncontrol.tar.gz  garbage-garbage-garbage\n")
    return out


def packages_file(debs: dict[str, Path] | list[Path], base: Path, out: Path) -> Path:
    """A Packages index (like apt's lists) for .debs below base (Filename relative to it)."""
    from debian import debfile

    paths = list(debs.values()) if isinstance(debs, dict) else list(debs)
    stanzas = []
    for p in sorted(paths):
        control = debfile.DebFile(str(p)).debcontrol()
        data = p.read_bytes()
        fields = [f"{k}: {v}" for k, v in control.items() if k != "Description"]
        fields += [f"Filename: {os.path.relpath(p, base)}", f"Size: {len(data)}",
                   f"SHA256: {hashlib.sha256(data).hexdigest()}",
                   f"Description: {control.get('Description', '')}"]
        stanzas.append("\n".join(fields))
    out.write_text("\n\n".join(stanzas) + "\n")
    return out


# --------------------------------------------------------------------------------------------
# .debs made by hand
# --------------------------------------------------------------------------------------------


def ar_pack(path: Path, members: list[tuple[str, bytes]]) -> Path:
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        out += data + (b"\n" if len(data) % 2 else b"")
    path.write_bytes(bytes(out))
    return path


def tar_bytes(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]],
              fmt: int = tarfile.DEFAULT_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=fmt) as tar:
        for e in entries:
            if isinstance(e, tuple):
                tar.addfile(e[0], io.BytesIO(e[1]))
            else:
                tar.addfile(e)
    return buf.getvalue()


def fake_deb(path: Path, entries, package: str = "evil") -> Path:
    control = tarfile.TarInfo("./control")
    text = f"Package: {package}\nVersion: 1.0\nArchitecture: amd64\n".encode()
    control.size = len(text)
    return ar_pack(path, [("debian-binary", b"2.0\n"),
                          ("control.tar.gz", tar_bytes([(control, text)])),
                          ("data.tar.gz", tar_bytes(entries))])


def file_entry(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data
