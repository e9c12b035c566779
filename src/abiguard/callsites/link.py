"""The link-line experiment: relink without a library and read the undefined references.

``abiguard link --without xenctrl -- gcc -o qemu a.o b.o -lxenctrl -lxenstore`` runs the given
link command with the library removed from it and the output redirected to a temporary file,
and turns the linker's diagnostics into :class:`CallSite` objects (``method="link"``,
``kind="undefined-reference"``). This is the experiment of the qemu/Xen thread ("we did an
experiment ... by suppressing libxc from the link line"), made repeatable.

Running the link command is the one place abiguard executes something, and only because the
user gave the command explicitly: it runs with ``subprocess.run(list, shell=False)``, a
timeout, ``LC_ALL=C`` (so the diagnostics are in the format parsed here), and never writes the
user's output file (the ``-o`` argument is replaced by a path in a temporary directory).
Two linker options are added: ``--no-demangle`` (names as in ``.symtab``, C++ included) and,
for ``-shared`` links, ``-z defs`` (a shared library links with undefined symbols otherwise).
``@FILE`` response files are expanded when the library is not named directly.

Removed forms of a library ``xc``: ``-lxc``, ``-l xc``, ``-l:libxc.so.1``, ``--library=xc``,
``--library xc``, a path ``.../libxc.so``, ``libxc.so.1.2``, ``libxc.a``, the same inside
``-Wl,...`` comma lists and after ``-Xlinker``.

Diagnostics understood:

* GNU ld: ``a.o: in function `main':`` followed by ``a.c:12: undefined reference to `xc_foo'``
  or ``a.c:(.text+0x1a): undefined reference to `xc_foo'``; data references
  ``a.o:(.data.rel.ro+0x0): undefined reference to `xc_foo'`` (no function);
  ``more undefined references to `xc_foo' follow`` (ld stops listing after five in a row: the
  symbol is reported in ``truncated``); ``undefined reference to symbol 'xc_foo@@VER'``
  (the library was still found as a dependency of another one: "DSO missing from command
  line", only the first reference is listed); ``relocation R_X86_64_32 against undefined
  symbol `xc_foo' can not be used when making a PIE object``.
* gold: ``a.c:12: error: undefined reference to 'xc_foo'``,
  ``a.o:a.c:function main: error: undefined reference to 'xc_foo'``,
  ``a.o:a.c:table: error: ...`` (a data symbol: no function).
* lld: ``ld.lld: error: undefined symbol: xc_foo`` then ``>>> referenced by a.c:12 (...)`` /
  ``>>>               a.o:(main)`` / ``lib.o:(f) in archive libx.a`` and
  ``>>> referenced N more times`` (truncated). lld names the symbol that contains the place,
  which for a data reference is the data object, reported as the function.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Protocol

from .. import callsites
from ..elf import ELF_MAGIC, SHT_SYMTAB, ElfFile, iter_archive_members
from ..errors import AbiguardError, ElfError
from ..model import CallSite
from .linklib import defined_symbols, find_library

DEFAULT_TIMEOUT = callsites.DEFAULT_TIMEOUT


class LinkError(AbiguardError):
    """The link experiment could not be run or its result cannot be read."""


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What one run of the experiment found."""

    library: str
    """The library's base name (``xc`` for ``-lxc``, ``libxc.so.1``, ``libxc.a``)."""
    command: tuple[str, ...]
    """The command as given by the user."""
    ran: tuple[str, ...]
    """The command that was run (library removed, output redirected)."""
    removed: tuple[str, ...]
    """The arguments (or ``-Wl,`` items) that named the library."""
    returncode: int
    sites: tuple[CallSite, ...] = ()
    truncated: tuple[str, ...] = ()
    """Symbols for which the linker stopped listing references (``more ... follow``,
    ``referenced N more times``, ``too many errors``: ``*``)."""
    notes: tuple[str, ...] = ()
    output: str = ""
    """The linker's standard error and output (LC_ALL=C)."""
    linked: bool = False
    """True when the link succeeded without the library: it is not needed."""
    symbols: tuple[str, ...] = field(default=())
    """The distinct symbols of ``sites``, in name order."""
    attributed: bool = False
    """True when the library's exports were read: ``sites`` are then only the references to
    symbols it defines, the others are in ``other_sites``. False when it was not found (or
    is unreadable): every undefined reference is in ``sites`` (a note says why)."""
    library_file: str | None = None
    """The file the library's exports were read from."""
    other_sites: tuple[CallSite, ...] = ()
    """Undefined references to symbols the library does not define: missing anyway (other
    objects or libraries left out of the link too)."""
    other_symbols: tuple[str, ...] = ()

    @property
    def needed(self) -> bool:
        """Does the link need the library (does anything reference what it defines)?"""
        return bool(self.sites) if self.attributed else not self.linked


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------

_LIBFILE = re.compile(r"^lib(?P<base>.+?)(?:\.so(?:\.[0-9][0-9A-Za-z.]*)?|\.a)$")


def library_base(name: str) -> str:
    """``-lxc``, ``xc``, ``libxc``, ``libxc.so.4.17``, ``/usr/lib/libxc.a``, ``-l:libxc.so`` -> ``xc``."""
    n = name.strip()
    if n.startswith("-l"):
        n = n[2:]
    elif n.startswith("--library="):
        n = n[len("--library="):]
    n = n.lstrip(":")
    n = os.path.basename(n)
    m = _LIBFILE.match(n)
    if m:
        return m.group("base")
    if n.startswith("lib") and len(n) > 3 and "." not in n:
        return n[3:]
    return n


def _names_library(token: str, base: str) -> bool:
    """Does a single linker input token (``-lX``, ``-l:file``, ``--library=X``, a path) name base?"""
    if token.startswith("-l"):
        rest = token[2:]
        if rest.startswith(":"):
            m = _LIBFILE.match(os.path.basename(rest[1:]))
            return bool(m and m.group("base") == base)
        return rest == base
    if token.startswith("--library="):
        return _names_library("-l" + token[len("--library="):], base)
    if token.startswith("-"):
        return False
    m = _LIBFILE.match(os.path.basename(token))
    return bool(m and m.group("base") == base)


def strip_library(argv: list[str], lib: str) -> tuple[list[str], list[str]]:
    """Remove every form of ``lib`` from a link command. Returns (new argv, removed items)."""
    base = library_base(lib)
    out: list[str] = []
    removed: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if i == 0:
            out.append(a)
        elif a in ("-l", "--library") and nxt is not None and _names_library("-l" + nxt, base) or a == "-Xlinker" and nxt is not None and _names_library(nxt, base):
            removed += [a, nxt]
            i += 1
        elif a.startswith("-Wl,"):
            items = a[4:].split(",")
            keep: list[str] = []
            j = 0
            while j < len(items):
                it = items[j]
                if it in ("-l", "--library") and j + 1 < len(items) and \
                        _names_library("-l" + items[j + 1], base):
                    removed.append(f"-Wl,{it},{items[j + 1]}")
                    j += 2
                    continue
                if _names_library(it, base):
                    removed.append(f"-Wl,{it}")
                else:
                    keep.append(it)
                j += 1
            if keep:
                out.append("-Wl," + ",".join(keep))
        elif _names_library(a, base):
            removed.append(a)
        else:
            out.append(a)
        i += 1
    return out, removed


def redirect_output(argv: list[str], path: str) -> tuple[list[str], str | None]:
    """Replace the ``-o`` argument (all forms) with ``path``; add ``-o path`` when there is none.

    Returns (new argv, the user's output or None).
    """
    out: list[str] = []
    original: str | None = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if i > 0 and a in ("-o", "--output") and i + 1 < len(argv):
            original = argv[i + 1]
            out += [a, path]
            i += 2
            continue
        if i > 0 and a.startswith("--output="):
            original = a.split("=", 1)[1]
            out.append("--output=" + path)
        elif i > 0 and a.startswith("-o") and len(a) > 2 and not a.startswith("-o-"):
            original = a[2:]
            out.append("-o" + path)
        else:
            out.append(a)
        i += 1
    if original is None:
        out += ["-o", path]
    return out, original


def expand_response_files(argv: list[str], cwd: str | None = None,
                          _depth: int = 0) -> list[str]:
    """Replace ``@FILE`` arguments (gcc/ld response files, as meson and CMake write them for
    long link lines) by the arguments they hold, as the compiler driver would."""
    out: list[str] = []
    for i, a in enumerate(argv):
        if i > 0 and a.startswith("@") and len(a) > 1 and _depth < 10:
            path = a[1:] if cwd is None or os.path.isabs(a[1:]) else os.path.join(cwd, a[1:])
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    inner = shlex.split(f.read())
            except (OSError, ValueError):
                out.append(a)                   # not a readable response file: leave it
                continue
            out += expand_response_files(["_", *inner], cwd, _depth + 1)[1:]
        else:
            out.append(a)
    return out


def _is_shared_link(argv: list[str]) -> bool:
    return any(a in ("-shared", "--shared", "-Wl,-shared", "-Wl,--shared") for a in argv[1:])


def _is_compiler_driver(argv: list[str]) -> bool:
    prog = os.path.basename(argv[0])
    return not re.search(r"(^|-)ld(\.(bfd|gold|lld|mold))?$", prog) and prog not in ("ld.lld",
                                                                                 "mold")


# --------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------

_PREFIX = re.compile(r"^(?:[^\s:]*/)?(?:[\w.+-]*-)?(?:ld(?:\.bfd|\.gold|\.lld)?|collect2|mold)"
                     r"(?:\.exe)?: ")
_IN_FUNCTION = re.compile(r"^(?P<obj>.+?): in function [`'](?P<fn>.+)':$")
_UNDEF = re.compile(r"^(?P<loc>.+?): undefined reference to [`'](?P<sym>.+)'$")
_MORE = re.compile(r"^(?P<loc>.+?): more undefined references to [`'](?P<sym>.+)' follow$")
_UNDEF_DSO = re.compile(r"^(?P<obj>.+?): undefined reference to symbol '(?P<sym>[^'@]+)(?:@@?[^']*)?'$")
_RELOC = re.compile(r"^(?P<obj>.+?): (?:warning: )?relocation \S+ against (?:undefined )?"
                    r"symbol [`'](?P<sym>[^']+)' can not be used")
_GOLD = re.compile(r"^(?P<loc>.+?): (?:error|warning): undefined reference to '(?P<sym>.+)'$")
_LLD_SYM = re.compile(r"^(?:error: )?undefined (?:symbol|reference due to "
                      r"--no-allow-shlib-undefined): (?P<sym>.+)$")
_LLD_REF = re.compile(r"^>>> referenced by (?P<loc>.+)$")
_LLD_OBJ = re.compile(r"^>>>\s+(?P<obj>.+?):\((?P<fn>.*)\)(?: in archive (?P<ar>.+))?$")
_LLD_MORE = re.compile(r"^>>> referenced (?P<n>\d+) more times?$")
_SRC_LINE = re.compile(r"^(?P<src>.+):(?P<line>\d+)$")
_SEC_OFF = re.compile(r"^(?P<left>.+):\((?P<sec>[^()+]+)\+0x[0-9a-fA-F]+\)$")
_OBJECTISH = re.compile(r"(\.(o|obj|lo|os|so(\.[0-9.]+)?|a)|\))$")
_LIB_NOT_FOUND = re.compile(r"^(?P<lib>\S+), needed by (?P<by>\S+), not found")


def _looks_like_object(name: str) -> bool:
    return bool(_OBJECTISH.search(name))


def _strip_version(sym: str) -> str:
    return sym.split("@", 1)[0] if "@" in sym and not sym.startswith("@") else sym


def parse_link_diagnostics(text: str) -> tuple[list[CallSite], list[str], list[str]]:
    """Turn GNU ld, gold and lld diagnostics into call sites.

    Returns (sites, truncated symbols, notes). Sites keep the linker's order.
    """
    sites: list[CallSite] = []
    truncated: list[str] = []
    notes: list[str] = []
    ctx_obj: str | None = None
    ctx_fn: str | None = None
    lld_sym: str | None = None
    lld_loc: str | None = None          # pending ">>> referenced by LOC" waiting for its object

    def site(sym: str, file: str, function: str | None = None, line: int | None = None
             ) -> None:
        sites.append(CallSite(symbol=_strip_version(sym), method="link", file=file,
                              kind="undefined-reference", line=line, function=function))

    def flush_lld_loc() -> None:
        nonlocal lld_loc
        if lld_loc is not None and lld_sym is not None:
            m = _SRC_LINE.match(lld_loc.split(" (", 1)[0])
            if m:
                site(lld_sym, m.group("src"), None, int(m.group("line")))
            else:
                site(lld_sym, lld_loc.split(" (", 1)[0])
        lld_loc = None

    for raw in text.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        # ---- lld ------------------------------------------------------------------------
        if line.startswith(">>>"):
            m = _LLD_MORE.match(line)
            if m:
                flush_lld_loc()
                if lld_sym and lld_sym not in truncated:
                    truncated.append(lld_sym)
                continue
            m = _LLD_REF.match(line)
            if m:
                flush_lld_loc()
                loc = m.group("loc")
                mo = _LLD_OBJ.match(">>> " + loc)
                if mo and not _SRC_LINE.match(loc.split(" (", 1)[0]):
                    _lld_obj_site(site, lld_sym, mo, None)
                else:
                    lld_loc = loc
                continue
            mo = _LLD_OBJ.match(line)
            if mo and lld_sym is not None:
                src_line = None
                if lld_loc is not None:
                    m2 = _SRC_LINE.match(lld_loc.split(" (", 1)[0])
                    src_line = int(m2.group("line")) if m2 else None
                lld_loc = None
                _lld_obj_site(site, lld_sym, mo, src_line)
            continue
        flush_lld_loc()
        body = _PREFIX.sub("", line, count=1)
        m = _LLD_SYM.match(body.removeprefix("error: "))
        if m and (body.startswith("error: ") or line.startswith("ld.lld") or
                  "undefined symbol:" in body):
            lld_sym = m.group("sym").strip()
            continue
        if "too many errors emitted" in body:
            truncated.append("*")
            continue
        # ---- GNU ld -----------------------------------------------------------------------
        m = _IN_FUNCTION.match(body)
        if m:
            ctx_obj, ctx_fn = m.group("obj"), m.group("fn")
            continue
        m = _MORE.match(body)
        if m:
            sym = _strip_version(m.group("sym"))
            if sym not in truncated:
                truncated.append(sym)
            continue
        m = _UNDEF_DSO.match(body)
        if m:
            site(m.group("sym"), m.group("obj"))
            notes.append("the linker still found the library as a dependency of another "
                         "library ('DSO missing from command line') and listed only the first "
                         "reference; use 'abiguard where --objects' for all of them")
            continue
        m = _RELOC.match(body)
        if m:
            site(m.group("sym"), m.group("obj"))
            continue
        m = _GOLD.match(body)
        if m and (": error: " in body or ": warning: " in body):
            _gold_site(site, m.group("loc"), m.group("sym"))
            continue
        m = _UNDEF.match(body)
        if m:
            sym, loc = m.group("sym"), m.group("loc")
            ms = _SEC_OFF.match(loc)
            ml = None if ms else _SRC_LINE.match(loc)
            left = ms.group("left") if ms else (ml.group("src") if ml else None)
            ln = int(ml.group("line")) if ml else None
            if left is not None:
                head = left.split(":", 1)[0]
                if ":" in left and _looks_like_object(head):
                    # OBJ:SRC:LINE / OBJ:SRC:(sec+off): outside any function (data).
                    site(sym, head, None, ln)
                elif ms and _looks_like_object(left):
                    # OBJ:(.data.rel.ro+0x0): outside any function, no debug information.
                    site(sym, left)
                elif ctx_obj is not None:
                    # SRC:LINE / SRC:(.text+0x1a): in the function of the last header.
                    site(sym, ctx_obj, ctx_fn, ln)
                else:
                    site(sym, left, None, ln)
                continue
            site(sym, loc)          # OBJ: undefined reference (e.g. from a shared library)
            continue
        m = _LIB_NOT_FOUND.match(body.removeprefix("warning: "))
        if m:
            notes.append(body)
            continue
    flush_lld_loc()
    return sites, truncated, notes


class _Site(Protocol):
    def __call__(self, sym: str, file: str, function: str | None = None,
                 line: int | None = None) -> None: ...


def _lld_obj_site(site: _Site, sym: str | None, m: re.Match[str], line: int | None) -> None:
    if sym is None:
        return
    obj, fn, ar = m.group("obj"), m.group("fn"), m.group("ar")
    file = f"{ar}({obj})" if ar else obj
    if fn.startswith(".") and "+0x" in fn:       # (.text+0x12): no symbol around it
        fn = None
    site(sym, file, fn or None, line)


def _gold_site(site: _Site, loc: str, sym: str) -> None:
    m = re.match(r"^(?P<pre>.+):function (?P<fn>[^:]+)$", loc)
    if m:
        pre = m.group("pre")
        obj = pre.rsplit(":", 1)[0] if ":" in pre else pre
        site(sym, obj, m.group("fn"))
        return
    ml = _SRC_LINE.match(loc)
    if ml:
        site(sym, ml.group("src"), None, int(ml.group("line")))
        return
    parts = loc.split(":")
    site(sym, parts[0] if _looks_like_object(parts[0]) else loc)


_MEMBER = re.compile(r"^(?P<archive>.+)\((?P<member>[^()]+)\)$")


def _function_names(file: str, cwd: str | None) -> set[str] | None:
    """Names of the FUNC symbols of an object file or archive member; None if unreadable."""
    m = _MEMBER.match(file)
    path = m.group("archive") if m else file
    if cwd is not None and not os.path.isabs(path):
        path = os.path.join(cwd, path)
    try:
        if m:
            data = next((body for name, body in iter_archive_members(path, thin=True)
                         if name == m.group("member")), None)
            if data is None or not data.startswith(ELF_MAGIC):
                return None
            f = ElfFile(path, data, member=m.group("member"))
        else:
            f = ElfFile(path)
        with f:
            symtab = f.section_by_name(".symtab")
            if symtab is None or symtab.type != SHT_SYMTAB:
                return None
            return {s.name for s in f.symtab_symbols() if s.type in ("FUNC", "GNU_IFUNC")}
    except ElfError:  # best effort: keep what the linker said
        return None


def _lld_data_references(sites: list[CallSite], cwd: str | None) -> list[CallSite]:
    """lld names the symbol around a reference, a data object too (``util.o:(xc_table)``);
    like ld and ``where --objects``, report no function for references from data."""
    cache: dict[str, set[str] | None] = {}
    out = []
    for s in sites:
        if s.function is not None:
            if s.file not in cache:
                cache[s.file] = _function_names(s.file, cwd)
            names = cache[s.file]
            if names is not None and s.function not in names:
                s = dataclasses.replace(s, function=None)
        out.append(s)
    return out


_ERROR_LINE = re.compile(r"(error|cannot find|No such file|not found|fatal|unrecognized|"
                         r"undefined)", re.IGNORECASE)


def first_error_line(text: str) -> str:
    """The first line of linker output that says what went wrong."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if _ERROR_LINE.search(ln) and "ld returned" not in ln:
            return ln
    return lines[0] if lines else "(no output)"


# --------------------------------------------------------------------------------------------
# The experiment
# --------------------------------------------------------------------------------------------


def run_link_experiment(argv: list[str], library: str, *, cwd: str | None = None,
                        timeout: float = DEFAULT_TIMEOUT) -> LinkResult:
    """Run ``argv`` without ``library`` and read the undefined references.

    Raises :class:`LinkError` when the command is empty or missing, the library is not on the
    link line, the linker times out, or it fails for another reason than undefined references.
    """
    if not argv:
        raise LinkError("no link command given (abiguard link --without LIB -- CC -o OUT ...)")
    base = library_base(library)
    if not base:
        raise LinkError(f"--without {library!r}: not a library name")
    full = argv
    stripped, removed = strip_library(argv, base)
    if not removed and any(a.startswith("@") for a in argv[1:]):
        full = expand_response_files(argv, cwd)
        stripped, removed = strip_library(full, base)
    if not removed:
        raise LinkError(f"lib{base} is not on the link line (looked for -l{base}, "
                        f"-l:lib{base}.so*, lib{base}.so*, lib{base}.a, also inside -Wl,)")
    env = dict(os.environ, LC_ALL="C", LANG="C", LANGUAGE="C")
    with tempfile.TemporaryDirectory(prefix="abiguard-link-") as tmp:
        out_path = os.path.join(tmp, "a.out")
        ran, _ = redirect_output(stripped, out_path)
        driver = _is_compiler_driver(ran)
        # Symbol and function names as in .symtab (C++ too), like 'where --objects'.
        ran = ran + (["-Wl,--no-demangle"] if driver else ["--no-demangle"])
        if _is_shared_link(ran):
            # A shared library links with undefined symbols by default: make them errors.
            ran = ran + (["-Wl,-z,defs"] if driver else ["-z", "defs"])
        try:
            res = subprocess.run(ran, shell=False, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, errors="replace",
                                 timeout=timeout, check=False)
        except FileNotFoundError:
            raise LinkError(f"{argv[0]}: command not found") from None
        except PermissionError:
            raise LinkError(f"{argv[0]}: permission denied") from None
        except NotADirectoryError:
            raise LinkError(f"{argv[0]}: command not found") from None
        except subprocess.TimeoutExpired:
            raise LinkError(f"the link command did not finish in {timeout:g} s "
                            "(use --timeout)") from None
    output = (res.stderr or "") + (res.stdout or "")
    sites, truncated, notes = parse_link_diagnostics(output)
    if ">>> referenced by" in output:
        sites = _lld_data_references(sites, cwd)
    if res.returncode != 0 and not sites:
        raise LinkError(f"the link failed for another reason than undefined references: "
                        f"{first_error_line(output)}")
    exports, library_file = None, None
    if sites:
        exports, library_file, why = _exports(full, removed, base, driver, cwd)
        if why:
            notes.append(why)
    mine = [s for s in sites if exports is None or s.symbol in exports]
    other = [s for s in sites if exports is not None and s.symbol not in exports]
    return LinkResult(
        library=base, command=tuple(argv), ran=tuple(ran), removed=tuple(removed),
        returncode=res.returncode, sites=tuple(mine), truncated=tuple(truncated),
        notes=tuple(dict.fromkeys(notes)), output=output, linked=res.returncode == 0,
        symbols=tuple(sorted({s.symbol for s in mine})), attributed=exports is not None,
        library_file=library_file, other_sites=tuple(other),
        other_symbols=tuple(sorted({s.symbol for s in other})),
    )


def _exports(argv: list[str], removed: list[str], base: str, driver: bool, cwd: str | None
             ) -> tuple[frozenset[str] | None, str | None, str | None]:
    """(symbols lib{base} defines, its file, why they are unknown) for the link line."""
    path, dirs = find_library(argv, removed, base, driver=driver, cwd=cwd)
    if path is None:
        return None, None, (f"lib{base} was not found on the link line's search path ("
                            f"{len(dirs)} director{'y' if len(dirs) == 1 else 'ies'}): which "
                            "undefined references it would have provided is unknown, all are "
                            "listed")
    try:
        found = defined_symbols(path, dirs, cwd)
    except (OSError, ElfError) as exc:
        msg = exc.message if isinstance(exc, ElfError) else (exc.strerror or str(exc))
        return None, path, (f"cannot read the symbols of {path} ({msg}): which undefined "
                            "references it would have provided is unknown, all are listed")
    return found.symbols, path, None


__all__ = [
    "LinkError",
    "LinkResult",
    "expand_response_files",
    "first_error_line",
    "library_base",
    "parse_link_diagnostics",
    "redirect_output",
    "run_link_experiment",
    "strip_library",
]
