"""Which file a link line's library is, and the symbols it exports (for ``abiguard link``).

``abiguard link --without xc`` lists the references the linker reports undefined once libxc
is left out. Only those to a symbol libxc itself defines are libxc's; the others were missing
anyway (another object or library also left out, a typo). This module finds the file the
linker would have read for the removed items and reads its symbols with abiguard's own ELF
reader:

* a path on the link line (``libxc.so.1``, ``/opt/lib/libxc.a``): that file, relative to the
  directory the link runs in;
* ``-lxc`` / ``-l:libxc.so.1``: as GNU ld searches, the ``-L`` directories in order
  (``-L DIR``, ``-LDIR``, ``--library-path=DIR``, also inside ``-Wl,`` and after
  ``-Xlinker``), then the default directories: a compiler driver's ``-print-search-dirs``
  libraries and its linker's ``SEARCH_DIR`` list (``--verbose``), a bare linker's own list;
  in each directory ``libxc.so`` before ``libxc.a`` unless ``-static``/``-Bstatic`` is in
  force. ``=`` at the start of a directory is the ``--sysroot``.

Those default directories are the one thing asked of the user's tools: the compiler driver
(or linker) named by the link command runs with ``-print-search-dirs``/``--verbose``, never
through a shell, with a timeout, and only when the ``-L`` directories do not hold the library.

What a file exports: a shared library its dynamic symbol table's definitions; an ``ar``
archive every member's defined global and weak ``.symtab`` symbols (any visibility: a hidden
symbol still satisfies a reference in a static link); a linker script (``libc.so`` is one)
the union of the files its ``INPUT``/``GROUP``/``AS_NEEDED`` name (a relative name in the
link's directory, then on the search path; ``-lNAME`` on the search path).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from ..elf import ELF_MAGIC, ElfFile, is_ar_archive, iter_archive_members, read_elf
from ..errors import ElfError

_TOOL_TIMEOUT = 30.0
_DEFINED_BINDINGS = ("GLOBAL", "WEAK", "GNU_UNIQUE")


@dataclass(frozen=True, slots=True)
class LibraryExports:
    """The file(s) a removed library resolved to and the symbol names they define."""

    files: tuple[str, ...]
    symbols: frozenset[str]


def link_options(argv: list[str]) -> list[str]:
    """The link command's items with ``-Wl,a,b`` and ``-Xlinker a`` unfolded."""
    out: list[str] = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a.startswith("-Wl,"):
            out += [x for x in a[4:].split(",") if x]
        elif a == "-Xlinker" and i + 1 < len(argv):
            out.append(argv[i + 1])
            i += 1
        else:
            out.append(a)
        i += 1
    return out


def search_dirs(argv: list[str]) -> list[str]:
    """The ``-L`` directories of a link command, in order."""
    items = link_options(argv)
    dirs: list[str] = []
    i = 0
    while i < len(items):
        a = items[i]
        if a in ("-L", "--library-path") and i + 1 < len(items):
            dirs.append(items[i + 1])
            i += 1
        elif a.startswith("--library-path="):
            dirs.append(a.split("=", 1)[1])
        elif a.startswith("-L") and len(a) > 2:
            dirs.append(a[2:])
        i += 1
    return dirs


def _static(argv: list[str], first: str) -> bool:
    """Is a static library wanted where ``first`` (a removed item) stands?"""
    static = False
    for a in link_options(argv):
        if a == first:
            break
        if a in ("-static", "-Bstatic", "-dn", "-non_shared"):
            static = True
        elif a in ("-Bdynamic", "-dy", "-call_shared"):
            static = False
    return static or "-static" in argv[1:]


def _sysroot(argv: list[str]) -> str:
    for i, a in enumerate(argv):
        if a.startswith("--sysroot="):
            return a.split("=", 1)[1]
        if a == "--sysroot" and i + 1 < len(argv):
            return argv[i + 1]
    return "/"


def _run(cmd: list[str], cwd: str | None) -> str:
    try:
        res = subprocess.run(cmd, shell=False, cwd=cwd, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, errors="replace",
                             timeout=_TOOL_TIMEOUT, check=False,
                             env=dict(os.environ, LC_ALL="C", LANG="C", LANGUAGE="C"))
    except (OSError, subprocess.SubprocessError):
        return ""
    return res.stdout


_SEARCH_DIR = re.compile(r'SEARCH_DIR\("?([^")]+)"?\)')


def default_dirs(argv: list[str], driver: bool, cwd: str | None) -> list[str]:
    """The directories the linker searches after the ``-L`` ones."""
    dirs: list[str] = []
    linker = argv[0]
    if driver:
        for line in _run([argv[0], "-print-search-dirs"], cwd).splitlines():
            if line.startswith("libraries:"):
                dirs += [d for d in line.split(":", 1)[1].strip().lstrip("=").split(":") if d]
        linker = _run([argv[0], "-print-prog-name=ld"], cwd).strip() or "ld"
    dirs += _SEARCH_DIR.findall(_run([linker, "--verbose"], cwd))
    root = _sysroot(argv)
    return [os.path.join(root, d[1:].lstrip("/")) if d.startswith("=") else d for d in dirs]


def _in_dirs(names: list[str], dirs: list[str], cwd: str | None) -> str | None:
    for d in dirs:
        d = d if cwd is None or os.path.isabs(d) else os.path.join(cwd, d)
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p):
                return p
    return None


def find_library(argv: list[str], removed: list[str], base: str, *, driver: bool,
                 cwd: str | None = None) -> tuple[str | None, list[str]]:
    """The file the linker reads for the removed items of ``lib{base}`` (None: not found),
    and the directories searched."""
    items = []
    for r in removed:
        items += [x for x in (r[4:].split(",") if r.startswith("-Wl,") else [r]) if x]
    names: list[str] | None = None
    for i, it in enumerate(items):
        if it in ("-l", "--library", "-Xlinker"):
            continue
        if i > 0 and items[i - 1] in ("-l", "--library"):
            it = "-l" + it
        if it.startswith("--library="):
            it = "-l" + it.split("=", 1)[1]
        if it.startswith("-l:"):
            names = [it[3:]]
        elif it.startswith("-l"):
            names = [f"lib{base}.a"] if _static(argv, it) else [f"lib{base}.so", f"lib{base}.a"]
        else:  # a path
            p = it if cwd is None or os.path.isabs(it) else os.path.join(cwd, it)
            if os.path.isfile(p):
                return p, []
            continue
        break
    if names is None:
        return None, []
    dirs = search_dirs(argv)
    hit = _in_dirs(names, dirs, cwd)
    if hit is None:
        more = default_dirs(argv, driver, cwd)
        dirs += more
        hit = _in_dirs(names, more, cwd)
    return hit, dirs


_SCRIPT_ITEM = re.compile(r"(?:INPUT|GROUP|AS_NEEDED)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)")


def _script_files(path: str, dirs: list[str], cwd: str | None) -> list[str]:
    """The files a linker script names in INPUT/GROUP/AS_NEEDED."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = re.sub(r"/\*.*?\*/", " ", fh.read(1 << 20), flags=re.DOTALL)
    except OSError:
        return []
    out = []
    for group in _SCRIPT_ITEM.findall(text):
        for tok in re.split(r"[\s,()]+", group):
            if not tok or tok == "AS_NEEDED":
                continue
            if tok.startswith("-l"):
                hit = _in_dirs([f"lib{tok[2:]}.so", f"lib{tok[2:]}.a"], dirs, cwd)
            elif os.path.isabs(tok):
                hit = tok if os.path.isfile(tok) else None
            else:  # GNU ld: the current directory, then the library search path
                hit = _in_dirs([tok], [cwd or ".", *dirs], cwd)
            if hit:
                out.append(hit)
    return out


def defined_symbols(path: str, dirs: Sequence[str] = (), cwd: str | None = None,
                    _depth: int = 0) -> LibraryExports:
    """The symbol names a shared library, archive or linker script defines for a link.
    Raises :class:`ElfError` when it is neither."""
    if is_ar_archive(path):
        names: set[str] = set()
        for member, data in iter_archive_members(path):
            if data[:4] != ELF_MAGIC:
                continue
            with ElfFile(path, data, member=member) as f:
                names.update(s.name for s in f.symtab_symbols()
                             if s.shndx != 0 and s.binding in _DEFINED_BINDINGS and s.name)
        return LibraryExports((path,), frozenset(names))
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == ELF_MAGIC:
        elf = read_elf(path)
        return LibraryExports((path,), frozenset(elf.exports.names()))
    if _depth < 4:
        files = _script_files(path, list(dirs), cwd)
        if files:
            parts = [defined_symbols(f, dirs, cwd, _depth + 1) for f in files]
            return LibraryExports((path, *(f for p in parts for f in p.files)),
                                  frozenset().union(*(p.symbols for p in parts)))
    raise ElfError(path, "not an ELF shared library, ar archive or linker script")


__all__ = ["LibraryExports", "default_dirs", "defined_symbols", "find_library",
           "link_options", "search_dirs"]
