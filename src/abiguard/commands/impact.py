"""abiguard impact CONSUMER… --from LIBS --to LIBS — what a library upgrade breaks.

For the unstable/private symbols each consumer imports from the old library set: does the new
set still define them (same soname and node: the old binary keeps working; another soname or
node: rebuild), are they gone or only in another library, and — with ``--headers-from`` /
``--headers-to`` — did their prototypes change (:mod:`abiguard.headers`). Verdict per consumer:
``runs-as-is``, ``needs-rebuild``, ``needs-source-changes`` (listing the symbols), or
``not-affected``.

Library sets (``--from``/``--to``, repeatable or comma-separated): directories, .deb files,
apt package names (``NAME``, ``NAME=VERSION``, ``NAME/SUITE``; ``--from-suite``/``--to-suite``
set the suite of the names without one). Headers: a directory, a header file, a .deb or an apt
package (e.g. ``libxen-dev --headers-to libxen-dev/trixie``). See docs/diff.md.

Exit: 0; 1 when ``--fail-on`` names a verdict a consumer reaches; 2 usage/input errors.
"""

from __future__ import annotations

import argparse
import os
from contextlib import ExitStack
from typing import Any

from ..compare import ImpactResult, ImpactSymbol, LibraryInfo, LibrarySet
from ..errors import ElfError, InputFileError, UsageError
from ..headers import Prototype, parse_headers
from ..sources import REGISTRY, Collected, Context, header_paths, library_trees, walk
from . import _common
from .diff import print_indented

FORMATS = ("text", "json", "markdown")
SEVERITY = {"not-affected": 0, "runs-as-is": 0, "needs-rebuild": 1, "needs-source-changes": 2,
            "unknown": 0}


def register(sub: Any, help_text: str) -> None:
    p = sub.add_parser("impact", help=help_text, description=(
        "For the unstable/private symbols a consumer imports from the libraries of --from: "
        "are they still in --to (same soname and version node, or only after a rebuild), "
        "gone, moved, and did their prototypes change (--headers-from/--headers-to)? "
        "Verdict: runs-as-is, needs-rebuild, needs-source-changes. Exit: 0; 1 when a "
        "consumer reaches the --fail-on verdict; 2 usage/input errors."))
    p.add_argument("inputs", nargs="+", metavar="CONSUMER",
                   help="the consumer: ELF file, directory, .deb, apt package name "
                        "(NAME, NAME=VERSION, NAME/SUITE) or a saved JSON result")
    p.add_argument("--from", dest="old", action="append", required=True, metavar="LIBS",
                   help="the libraries now: directory, .deb, apt package (repeatable, "
                        "comma-separated)")
    p.add_argument("--to", dest="new", action="append", required=True, metavar="LIBS",
                   help="the libraries after the upgrade (same forms)")
    p.add_argument("--from-suite", metavar="SUITE",
                   help="Debian suite of the package names in --from and --headers-from")
    p.add_argument("--to-suite", metavar="SUITE",
                   help="Debian suite of the package names in --to and --headers-to "
                        "(e.g. trixie)")
    p.add_argument("--headers-from", action="append", default=[], metavar="HEADERS",
                   help="headers of the old version: directory, .h file, .deb or apt package "
                        "(e.g. libxen-dev); repeatable")
    p.add_argument("--headers-to", action="append", default=[], metavar="HEADERS",
                   help="headers of the new version (same forms)")
    p.add_argument("--fail-on", choices=("needs-rebuild", "needs-source-changes"),
                   help="exit 1 when a consumer needs at least this")
    g = p.add_argument_group("scanning the consumer")
    g.add_argument("--with-deps", action="store_true",
                   help="fetch the library packages a package consumer depends on")
    g.add_argument("--sysroot", default="/", metavar="DIR",
                   help="root file system other libraries are searched in (default: /)")
    g.add_argument("--policy", action="append", default=[], metavar="FILE",
                   help="stability policy TOML file (repeatable)")
    _common.add_output_options(p, FORMATS)
    p.set_defaults(run=run)


# --------------------------------------------------------------------------------------------
# Library sets and headers
# --------------------------------------------------------------------------------------------


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _libraries_below(root: str, strip: str | None, package: str | None
                     ) -> list[LibraryInfo]:
    from ..debian.deb import ELF_MAGIC
    from ..elf import read_elf

    out = []
    for path in walk(root):
        try:
            with open(path, "rb") as fh:
                if fh.read(4) != ELF_MAGIC:
                    continue
            elf = read_elf(path, relocations=False)
        except (OSError, ElfError):
            continue
        if elf.kind != "DYN" or (elf.soname is None and ".so" not in os.path.basename(path)):
            continue
        exports: dict[str, list[str | None]] = {}
        sizes: dict[tuple[str, str | None], int] = {}
        for sym in elf.exports:
            exports.setdefault(sym.name, []).append(sym.version)
            if sym.type in ("OBJECT", "TLS", "COMMON"):
                sizes.setdefault((sym.name, sym.version), sym.size)
        installed = "/" + os.path.relpath(path, strip) if strip else path
        out.append(LibraryInfo(elf.soname or os.path.basename(path), installed,
                               {k: tuple(v) for k, v in exports.items()}, package, sizes))
    return out


class Sets:
    """Unpacked library sets and headers (temporary directories removed on close). Each spec
    is recognised by its kind (abiguard.sources), which says where its libraries and headers
    are (package names downloaded first, those of a suite together)."""

    def __init__(self) -> None:
        self._collected = Collected()

    def close(self) -> None:
        self._collected.cleanup()

    def _context(self, suite: str | None) -> Context:
        return Context(self._collected, REGISTRY, suite=suite)

    def library_set(self, specs: list[str], suite: str | None
                    ) -> tuple[LibrarySet, list[str], list[str]]:
        """(LibrarySet, .debs for resolution, directories for resolution)."""
        libs: list[LibraryInfo] = []
        labels = []
        debs: list[str] = []
        dirs: list[str] = []
        for spec, tree in library_trees(specs, self._context(suite)):
            found = _libraries_below(tree.root, tree.installed_root, tree.package)
            if tree.only is not None:
                found = [lib for lib in found if os.path.samefile(lib.path, tree.only)]
            if not found:
                raise UsageError(f"{spec}: {tree.empty}")
            libs += found
            labels.append(tree.label)
            if tree.provider_deb is not None:
                debs.append(tree.provider_deb)
            dirs += (list(tree.lib_dirs) if tree.lib_dirs is not None
                     else sorted({os.path.dirname(lib.path) for lib in found}))
        return LibrarySet(", ".join(labels), tuple(libs)), debs, dirs

    def header_paths(self, specs: list[str], suite: str | None) -> tuple[list[str], str]:
        """(include directories or header files, label) of header specs: directories, .h
        files, .debs and apt packages (unpacked: their usr/include)."""
        got = header_paths(specs, self._context(suite))
        return [p for p, _ in got], ", ".join(label for _, label in got)

    def headers(self, specs: list[str], suite: str | None
                ) -> tuple[dict[str, Prototype] | None, str | None]:
        """(name -> Prototype, label) of the headers, or (None, None) when none given."""
        if not specs:
            return None, None
        paths, label = self.header_paths(specs, suite)
        return parse_headers(paths), label


# --------------------------------------------------------------------------------------------
# Command
# --------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from ..compare import impact
    from ..pipeline import ScanOptions
    from ..render import render
    from .diff import load_or_scan

    if bool(args.headers_from) != bool(args.headers_to):
        raise UsageError("give both --headers-from and --headers-to (or neither)")
    sets = Sets()
    with ExitStack() as stack:
        stack.callback(sets.close)
        try:
            old_set, old_debs, old_dirs = sets.library_set(_split(args.old), args.from_suite)
            new_set, _, _ = sets.library_set(_split(args.new), args.to_suite)
            old_h, old_label = sets.headers(_split(args.headers_from), args.from_suite)
            new_h, new_label = sets.headers(_split(args.headers_to), args.to_suite)
        except InputFileError as exc:
            raise UsageError(str(exc)) from None
        options = ScanOptions(sysroot=args.sysroot, lib_paths=old_dirs,
                              policies=args.policy, with_deps=args.with_deps,
                              provider_debs=old_debs)
        audit = load_or_scan(list(args.inputs), options)
        result = impact(audit, old_set, new_set, old_h, new_h, old_headers_label=old_label,
                        new_headers_label=new_label)
    color = _common.use_color() and not args.output
    _common.emit(args, render(result, args.format, verbose=args.verbose, color=color))
    for e in result.errors:
        _common.error_line(e)
    if result.errors:
        return 2
    if args.fail_on:
        worst = max((SEVERITY[c.verdict] for c in result.consumers), default=0)
        if worst >= SEVERITY[args.fail_on]:
            return 1
        unknown = [c.consumer for c in result.consumers if c.verdict == "unknown"]
        if unknown:
            from ..missing import missing_line

            _common.error_line(f"--fail-on {args.fail_on} cannot be checked for "
                               f"{', '.join(unknown)}: {missing_line(audit.consumers)}")
            return 2
    return 0


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

VERDICT_TEXT = {
    "runs-as-is": ("runs as is", "bold green"),
    "needs-rebuild": ("needs rebuild only", "bold yellow"),
    "needs-source-changes": ("needs source changes", "bold red"),
    "not-affected": ("not affected", "green"),
    "unknown": ("cannot tell: libraries not found", "bold yellow"),
}
STATUS_STYLE = {"same": "green", "rebuild": "yellow", "moved": "cyan", "gone": "bold red",
                "resized": "bold red"}
PROTO_STYLE = {"same": "green", "compatible": "yellow", "changed": "bold red",
               "gone": "bold red", "unknown": "dim"}


def _arrow(a: str | None, b: str | None) -> str:
    if a == b:
        return a or "-"
    return f"{a or '-'} -> {b or '-'}"


def binary_text(s: ImpactSymbol) -> str:
    if s.status == "moved":
        return f"moved to {s.new_library}"
    if s.status == "resized":
        return f"resized {s.copy_size} -> {s.new_size} bytes"
    return s.status


def proto_text(p: Any) -> str:
    if p.status == "unknown" or not p.changes:
        return str(p.status)
    return f"{p.status}: {'; '.join(p.changes)}"


def render_impact_text(con: Any, result: ImpactResult, verbose: int = 0) -> None:
    from rich.text import Text

    from ..demangle import display
    from ..render.table import Column, Table, print_lines, title

    print_indented(con, Text(f"abiguard impact {result.old} -> {result.new}", "bold"), 0, 2)
    if result.headers_checked:
        print_indented(con, Text(f"headers: {result.old_headers} -> {result.new_headers}"), 0,
                       2)
    con.print()
    for c in result.consumers:
        verdict, style = VERDICT_TEXT[c.verdict]
        print_lines(con, title(c.consumer, c.package or "", con.width))
        con.print(Text.assemble("  verdict: ", (verdict, style)))
        for r in c.reasons:
            print_indented(con, Text(f"- {r}"), 2, 4)
        if c.symbols:
            t = Table([Column("symbol"), Column("binary"), Column("version node"),
                       Column("prototype", "text", min_width=20)])
            for s in c.symbols:
                t.add_row(display(s.name), (binary_text(s), STATUS_STYLE.get(s.status, "")),
                          _arrow(s.old_version, s.new_version),
                          (proto_text(s.prototype), PROTO_STYLE.get(s.prototype.status, "")))
            print_lines(con, t.lines(con.width))
            for s in c.symbols:
                p = s.prototype
                if p.status in ("changed", "gone", "compatible") or (verbose and p.old):
                    con.print(Text(f"    {display(s.name)}:", "bold"), soft_wrap=True)
                    if p.old:
                        print_indented(con, Text(f"- {p.old};  ({p.old_location})", "red"),
                                       6, 8)
                    if p.new:
                        print_indented(con, Text(f"+ {p.new};  ({p.new_location})",
                                                 "green"), 6, 8)
        con.print()
    from ..missing import is_missing_line
    from .diff import warn

    for n in result.notes:
        if is_missing_line(n):
            warn(con, n)
    counts: dict[str, int] = {}
    for c in result.consumers:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    total = ", ".join(f"{n} {VERDICT_TEXT[v][0]}" for v, n in counts.items()) if counts \
        else "no consumers"
    if result.errors:
        total += f"; {len(result.errors)} input error(s)"
    print_indented(con, Text(total, "bold"), 0)
    if not result.headers_checked:
        con.print("[dim]prototypes not compared: give --headers-from and --headers-to[/dim]")
    con.print("[dim]not checked: type and struct layout changes behind unchanged "
              "prototypes[/dim]")


def render_impact_markdown(result: ImpactResult) -> str:
    def md(s: Any) -> str:
        return str(s if s is not None else "-").replace("|", "\\|")

    out = [f"# abiguard impact: {md(result.old)} → {md(result.new)}", ""]
    from ..missing import is_missing_line

    out += [f"> **Warning:** {md(n)}\n" for n in result.notes if is_missing_line(n)]
    if result.headers_checked:
        out += [f"Headers: {md(result.old_headers)} → {md(result.new_headers)}.", ""]
    for c in result.consumers:
        out += [f"## `{c.consumer}`", ""]
        if c.package:
            out += [f"Package: {c.package}", ""]
        out += [f"**Verdict: {VERDICT_TEXT[c.verdict][0]}.**", ""]
        out += [f"- {md(r)}" for r in c.reasons] + [""]
        if c.symbols:
            out += ["| symbol | binary | version node | prototype |", "|---|---|---|---|"]
            for s in c.symbols:
                out.append(f"| `{s.name}` | {md(binary_text(s))} | "
                           f"{md(_arrow(s.old_version, s.new_version))} | "
                           f"{md(proto_text(s.prototype))} |")
            out.append("")
            for s in c.symbols:
                p = s.prototype
                if p.status in ("changed", "gone", "compatible"):
                    out += [f"`{s.name}`:", "", "```diff"]
                    if p.old:
                        out.append(f"- {p.old};")
                    if p.new:
                        out.append(f"+ {p.new};")
                    out += ["```", ""]
    return "\n".join(out).rstrip() + "\n"
