"""glibc's dynamic linker as the oracle for abiguard's bindings (tests and benchmarks only).

``LD_TRACE_LOADED_OBJECTS=1 LD_WARN=1 LD_BIND_NOW=1 LD_DEBUG=bindings ld.so FILE`` loads FILE
and everything it needs, relocates all of it (every relocation, PLT ones included) and prints
one line per symbol lookup on stderr::

    binding file FILE [0] to LIB [0]: normal symbol `NAME' [VERSION]

``main`` never runs, constructors neither, and in this trace mode ld.so does not call IFUNC
resolvers (``__RTLD_NOIFUNC``). :func:`trace` keeps the lines of FILE itself (the bindings of
the libraries it loads are theirs, not FILE's) as (symbol, requested version, real path of the
provider), and the warnings ld.so prints (a copied object whose size differs, undefined
symbols, missing versions). :func:`abiguard_bindings` is the same triple for abiguard's
``bound`` bindings. abiguard itself never calls ld.so.

A binding of FILE to FILE itself (a library calling its own exported function through its PLT,
or a reference to a definition FILE makes itself) is kept apart in ``Trace.self_bound``:
abiguard lists what a file takes from other files.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from abiguard.model import Binding

LDSO = {("x86_64", 64): "/lib64/ld-linux-x86-64.so.2", ("i386", 32): "/lib/ld-linux.so.2"}

Triple = tuple[str, str | None, str]
"""(symbol name, requested version or None, real path of the providing file)."""

_LINE = re.compile(r"^\s*\d+:\s*binding file (?P<undef>.*) \[\d+\] to (?P<def>.*) \[\d+\]: "
                   r"(?:normal|protected) symbol `(?P<name>.*)'(?: \[(?P<ver>[^\]]*)\])?$")
_SIZE = re.compile(r"Symbol `(?P<name>.*)' has different size in shared object")
_UNDEF = re.compile(r"^undefined symbol: (?P<name>[^\t,]*)(?:, version (?P<ver>[^\t]*))?\t"
                    r"\((?P<file>.*)\)$")


@dataclass
class Trace:
    """What ld.so did for one file."""

    path: str
    bound: set[Triple] = field(default_factory=set)
    """FILE's bindings to other files."""
    self_bound: set[Triple] = field(default_factory=set)
    """FILE's bindings to itself."""
    size_warnings: set[str] = field(default_factory=set)
    """Copied objects ld.so warned about ("has different size in shared object")."""
    undefined: set[tuple[str, str | None]] = field(default_factory=set)
    """FILE's (symbol, version) ld.so found no definition for ("undefined symbol: ...")."""
    stdout: str = ""
    returncode: int = 0
    error: str | None = None
    """Why ld.so could not trace the file at all (e.g. "loader cannot load itself")."""


def system_programs(n: int) -> list[str]:
    """The first n regular ELF files of this machine's /usr/bin (by name; none over 4 MiB)."""
    out = []
    for p in sorted(Path("/usr/bin").iterdir()):
        try:
            if p.is_symlink() or not p.is_file() or p.stat().st_size > 4 << 20:
                continue
            with open(p, "rb") as fh:
                if fh.read(4) != b"\x7fELF":
                    continue
        except OSError:
            continue
        out.append(str(p))
        if len(out) == n:
            break
    return out


def ldso_for(machine: str, elf_class: int) -> str | None:
    path = LDSO.get((machine, elf_class))
    return path if path and os.path.exists(path) else None


def trace(path: str, ldso: str = LDSO[("x86_64", 64)], *, timeout: float = 120,
          env: dict[str, str] | None = None) -> Trace:
    """Run ld.so in trace mode on ``path`` and collect the bindings of ``path`` itself."""
    run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_TRACE_LOADED_OBJECTS": "1",
               "LD_WARN": "1", "LD_BIND_NOW": "1", "LD_DEBUG": "bindings", "LC_ALL": "C"}
    if env:
        run_env.update(env)
    proc = subprocess.run([ldso, path], env=run_env, capture_output=True, timeout=timeout,
                          check=False)
    out = Trace(path, stdout=proc.stdout.decode("utf-8", "surrogateescape"),
                returncode=proc.returncode)
    me = os.path.realpath(path)
    real: dict[str, str] = {}
    prefix = f"binding file {path} ["
    stderr = proc.stderr.decode("utf-8", "surrogateescape")
    for raw in (out.stdout + "\n" + stderr).splitlines():
        u = _UNDEF.match(raw)
        if u is not None and u["file"] == path:
            out.undefined.add((u["name"], u["ver"]))
    for raw in stderr.splitlines():
        if prefix not in raw:
            m = _SIZE.search(raw)
            if m:
                out.size_warnings.add(m["name"])
            elif "binding file" not in raw and raw.strip() and "ld-linux" in raw.split(":")[0]:
                out.error = raw.strip()
            continue
        m = _LINE.match(raw)
        if m is None or m["undef"] != path:
            continue
        provider = m["def"]
        rp = real.get(provider)
        if rp is None:
            rp = real[provider] = os.path.realpath(provider)
        triple = (m["name"], m["ver"], rp)
        (out.self_bound if rp == me else out.bound).add(triple)
    if proc.returncode and not out.bound and not out.self_bound and out.error is None:
        out.error = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or
                     [f"exit {proc.returncode}"])[-1]
    return out


def relocation_order(path: str, ldso: str = LDSO[("x86_64", 64)]) -> list[str]:
    """The real paths of the objects ld.so relocates for ``path``, in its order
    (``LD_DEBUG=reloc``: "relocation processing: FILE"; ld.so itself is not listed)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_TRACE_LOADED_OBJECTS": "1",
           "LD_WARN": "1", "LD_BIND_NOW": "1", "LD_DEBUG": "reloc", "LC_ALL": "C"}
    proc = subprocess.run([ldso, path], env=env, capture_output=True, timeout=120,
                          check=False)
    out = []
    for raw in proc.stderr.decode("utf-8", "surrogateescape").splitlines():
        _, sep, rest = raw.partition("relocation processing: ")
        if sep:
            out.append(os.path.realpath(rest.split(" (lazy)")[0].strip()))
    return out


def abiguard_bindings(bindings: Iterable[Binding], root: str = "/") -> set[Triple]:
    """abiguard's ``bound`` bindings of one consumer as (symbol, version, real provider);
    ``root``: the sysroot the installed provider paths are under."""
    out: set[Triple] = set()
    for b in bindings:
        if b.status != "bound":
            continue
        where = b.provider_path
        real = os.path.realpath(os.path.join(root, where.lstrip("/"))) if where else "?"
        out.add((b.symbol.name, b.symbol.version, real))
    return out


def compare(mine: set[Triple], oracle: set[Triple]) -> tuple[set[Triple], set[Triple]]:
    """(missed: ld.so makes them, abiguard does not; extra: abiguard reports them, ld.so
    never makes them)."""
    return oracle - mine, mine - oracle


@dataclass
class FileComparison:
    """abiguard's resolver against ld.so for one file (see compare_file)."""

    path: str
    error: str | None = None
    """Why the file was not compared (ld.so could not trace it, abiguard could not read it)."""
    bindings: int = 0
    """ld.so's bindings of the file to other files."""
    self_bound: int = 0
    matched: int = 0
    missed: list[Triple] = field(default_factory=list)
    extra: list[Triple] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)
    size_warnings: list[str] = field(default_factory=list)
    """ld.so's copy-size warnings."""
    abiguard_size_warnings: list[str] = field(default_factory=list)
    """The copies abiguard flags (CopyRelocation.size_differs)."""
    undefined: list[tuple[str, str | None]] = field(default_factory=list)
    """ld.so's undefined symbols of the file."""
    unresolved: list[tuple[str, str | None]] = field(default_factory=list)
    """abiguard's unresolved non-weak bindings."""
    declared: int = 0


def compare_file(path: str, resolver: object, ldso: str = LDSO[("x86_64", 64)]
                 ) -> FileComparison:
    """Trace ``path`` with ld.so and resolve it with ``resolver`` (an
    abiguard.resolve.Resolver over the sysroot /): both sides of one file."""
    from abiguard.elf import read_elf
    from abiguard.errors import ElfError

    t = trace(path, ldso)
    if t.error and not t.bound and not t.self_bound:
        return FileComparison(path, error=t.error)
    try:
        _libs, bindings = resolver.resolve(read_elf(path), path)  # type: ignore[attr-defined]
    except ElfError as exc:
        return FileComparison(path, error=f"abiguard: {exc}")
    mine = abiguard_bindings(bindings)
    missed, extra = compare(mine, t.bound)
    return FileComparison(
        path, bindings=len(t.bound), self_bound=len(t.self_bound),
        matched=len(mine & t.bound), missed=sorted(missed, key=str),
        extra=sorted(extra, key=str),
        copies=sorted(b.symbol.name for b in bindings if b.copy and b.status == "bound"),
        size_warnings=sorted(t.size_warnings),
        abiguard_size_warnings=sorted(b.symbol.name for b in bindings if b.copy
                                      and b.status == "bound" and b.copy.size_differs),
        undefined=sorted(t.undefined, key=str),
        unresolved=sorted({(b.symbol.name, b.symbol.version) for b in bindings
                           if b.status == "unresolved" and not b.weak}, key=str),
        declared=sum(1 for b in bindings if b.status == "declared"))
