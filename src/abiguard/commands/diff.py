"""abiguard diff OLD NEW — how the unstable/private imports changed between two versions.

OLD and NEW are each a saved result (``abiguard scan --format json``; plan/where results work
too) or one scan input: an ELF file, a directory, a .deb, an apt package name (``NAME``,
``NAME=VERSION``, ``NAME/SUITE`` for another Debian suite such as ``qemu-system-xen/trixie``).
``--trend A B C …`` counts them over several versions instead (table, Markdown, JSON, SVG).
Copied data objects (copy relocations) whose size changed are reported too (``resized``: an
ABI break). See docs/diff.md. Exit: 0; 1 with ``--fail-on-new`` when an unstable/private
symbol was added or a copied object resized; 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from dataclasses import replace
from typing import Any

from ..errors import UsageError
from ..model import Audit, SchemaError, audit_from_json
from . import _common
from .scan import add_resolution_options, scan_options

FORMATS = ("text", "json", "markdown", "svg")


# --------------------------------------------------------------------------------------------
# Reading one side: a saved result or scan inputs
# --------------------------------------------------------------------------------------------


def is_json_result(path: str) -> bool:
    """A file whose first non-blank character is '{' (a saved abiguard result)."""
    if not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return head.lstrip()[:1] == b"{"


def load_result(path: str) -> Audit:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})"
                         ) from None
    try:
        return audit_from_json(text, path)
    except SchemaError as exc:
        raise UsageError(str(exc)) from None


def load_or_scan(specs: list[str], options: Any, *, suite: str | None = None,
                 providers: list[str] = ()) -> Audit:
    """One side of a comparison: a saved JSON result, or the scan of the inputs (packages of
    another Debian suite are handled by the pipeline: ``NAME/SUITE`` or ``suite``)."""
    from ..pipeline import scan_paths

    if len(specs) == 1 and is_json_result(specs[0]):
        return load_result(specs[0])
    for s in specs:
        if is_json_result(s):
            raise UsageError(f"{s}: a saved result cannot be mixed with other inputs")
    return scan_paths(specs, replace(options, suite=suite or options.suite,
                                     provider_debs=[*options.provider_debs, *providers]))


# --------------------------------------------------------------------------------------------
# Command
# --------------------------------------------------------------------------------------------


def register(sub, help_text: str) -> None:
    p = sub.add_parser("diff", help=help_text, description=(
        "Compare the unstable/private imports of two versions, consumer by consumer: added, "
        "removed, moved to another library (or replaced by the stable replacement), unchanged "
        "(a version-node rename such as VERS_4.17.0 -> libxenctrl_4.20.0 counts as "
        "unchanged); and copied data objects (copy relocations) whose size changed (resized: "
        "breaking). OLD/NEW: saved JSON results or scan inputs. With --trend: the count per "
        "version of any number of inputs. Exit: 0; 1 with --fail-on-new when symbols were "
        "added or copies resized; 2 usage/input errors."))
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="OLD NEW (or, with --trend, every version in order): a saved result "
                        "(.json), ELF file, directory, .deb, or apt package name "
                        "(NAME, NAME=VERSION, NAME/SUITE)")
    p.add_argument("--trend", action="store_true",
                   help="count the unstable/private symbols per version of every input")
    p.add_argument("--fail-on-new", action="store_true",
                   help="exit 1 when an unstable/private symbol was added or a copied data "
                        "object changed size")
    p.add_argument("--all", action="store_true",
                   help="also list consumers without unstable/private symbols on either side")
    p.add_argument("--label", action="append", default=[], metavar="NAME",
                   help="name of each input in order (default: the package version or the "
                        "input)")
    p.add_argument("--chart", metavar="FILE", help="with --trend: also write the SVG chart")
    p.add_argument("--remedies", action="append", default=[], metavar="FILE",
                   help="remedies knowledge base (to recognise a symbol replaced by its stable "
                        "replacement); repeatable")
    add_resolution_options(p, "scanning inputs that are not saved results", ("old", "new"))
    _common.add_output_options(p, FORMATS)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..compare import diff_audits, knowledge_replacements, trend
    from ..render import render

    if args.trend:
        if len(args.inputs) < 2:
            raise UsageError("--trend needs at least two inputs")
    elif len(args.inputs) != 2:
        raise UsageError(f"diff takes OLD and NEW (got {len(args.inputs)} inputs; "
                         "use --trend for more)")
    if args.format == "svg" and not args.trend:
        raise UsageError("--format svg is for --trend")
    if args.chart and not args.trend:
        raise UsageError("--chart is for --trend")
    if args.label and len(args.label) != len(args.inputs):
        raise UsageError(f"--label given {len(args.label)} times for {len(args.inputs)} inputs")
    options = scan_options(args)
    audits = []
    for i, spec in enumerate(args.inputs):
        side = "old" if i == 0 else "new"
        if args.trend:
            audits.append(load_or_scan([spec], options))
        else:
            audits.append(load_or_scan([spec], options, suite=getattr(args, f"{side}_suite"),
                                       providers=getattr(args, f"{side}_provider")))
    from ..compare import audit_label

    labels = args.label or [audit_label(a, spec) for a, spec in zip(audits, args.inputs)]
    color = _common.use_color() and not args.output
    if args.trend:
        if len(set(labels)) != len(labels):
            labels = [f"{lab} ({spec})" for lab, spec in zip(labels, args.inputs)]
        result: Any = trend(audits, labels)
        if args.chart:
            _write(args.chart, result.svg())
            _common.note(args, f"wrote {args.chart}")
        text = result.svg() if args.format == "svg" else render(
            result, args.format, verbose=args.verbose, color=color)
        _common.emit(args, text)
        errors = result.errors
        added = False
    else:
        result = diff_audits(audits[0], audits[1], old_label=labels[0], new_label=labels[1],
                             replacements=knowledge_replacements(args.remedies),
                             only_problems=not args.all)
        _common.emit(args, render(result, args.format, verbose=args.verbose, color=color))
        errors = result.errors
        added = bool(result.added or result.resized)
    for e in errors:
        _common.error_line(e)
    if errors:
        return 2
    if args.fail_on_new and added:
        n, r = len(result.added), len(result.resized)
        _common.note(args, f"--fail-on-new: {n} unstable/private symbol(s) added"
                     + (f", {r} copied object(s) resized" if r else ""))
        return 1
    return 0


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


# --------------------------------------------------------------------------------------------
# Rendering (called by DiffResult/TrendResult.render_text/render_markdown)
# --------------------------------------------------------------------------------------------

def print_indented(con, text, indent: int, hanging: int | None = None) -> None:
    """A Text wrapped between words at the console width, every line indented, the lines
    after the first by ``hanging`` (no trailing padding; identifiers are never broken)."""
    from rich.text import Text

    from ..render.table import paragraph, print_lines

    print_lines(con, [Text(line, text.style) for line in
                      paragraph(text.plain, con.width, indent, hanging)])


def warn(con, message: str) -> None:
    """A warning line (e.g. libraries not found), wrapped between words."""
    from ..render.table import print_lines, warning_lines

    print_lines(con, warning_lines(message, con.width))


CHANGE_STYLE = {"added": "bold red", "removed": "green", "moved": "cyan",
                "unchanged": "dim", "renamed-node": "dim", "resized": "bold red"}


def _arrow(a: str | None, b: str | None) -> str:
    if a == b or b is None or a is None:
        return a or b or "-"
    return f"{a or '-'} -> {b or '-'}"


def _side(path: str | None, package: str | None, count: int) -> str:
    if path is None:
        return "absent"
    return (f"{package}, " if package else "") + f"{count} unstable/private"


def _unchanged_groups(c) -> dict[tuple, list[str]]:
    groups: dict[tuple, list[str]] = defaultdict(list)
    for d in c.unchanged:
        groups[(d.change, d.old_library, d.new_library, d.old_version, d.new_version)].append(
            d.name)
    return groups


def _names(names: list[str], verbose: int, limit: int = 6) -> str:
    from ..demangle import display

    names = [display(n) for n in names]
    if verbose or len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", … {len(names) - limit} more (-v)"


def summary_line(c) -> str:
    renamed = len(c.renamed)
    return (f"+{len(c.added)} added, -{len(c.removed)} removed, {len(c.moved)} moved, "
            f"{len(c.unchanged)} unchanged" + (f" ({renamed} with a renamed version node)"
                                               if renamed else "")
            + (f", {len(c.resized)} copied object(s) resized (breaking)" if c.resized else ""))


def _rows(c) -> list:
    return list(c.added) + list(c.removed) + list(c.moved) + list(c.resized)


def _version_text(d) -> str:
    """The version node column; for a resized copy also its sizes."""
    node = _arrow(d.old_version, d.new_version)
    if d.change != "resized":
        return node
    sizes = _arrow(None if d.old_size is None else str(d.old_size),
                   None if d.new_size is None else str(d.new_size))
    return f"{node}, {sizes} bytes (program: {d.program_size})"


def _totals_text(result) -> str:
    t = result.totals()
    return (f"+{t['added']} added, -{t['removed']} removed, {t['moved']} moved, "
            f"{t['unchanged']} unchanged ({t['renamed-node']} renamed node)"
            + (f", {t['resized']} copied object(s) resized (breaking)" if t["resized"] else ""))


def render_diff_text(con, result, verbose: int = 0) -> None:
    from rich.text import Text

    from ..demangle import display
    from ..render.table import Column, Table, item_lines, print_lines, title

    con.print(Text.assemble(("abiguard diff ", "bold"), (result.old, "bold"), " -> ",
                            (result.new, "bold")), soft_wrap=True)
    con.print()
    for c in result.consumers:
        how = {"path": "", "only-old": "only in old", "only-new": "only in new"}.get(
            c.matched_by, f"matched by {c.matched_by}: {c.old_path}")
        print_lines(con, title(c.consumer, how, con.width))
        print_indented(con, Text(f"old: {_side(c.old_path, c.old_package, c.old_count)}"), 2)
        print_indented(con, Text(f"new: {_side(c.new_path, c.new_package, c.new_count)}"), 2)
        print_indented(con, Text(summary_line(c)), 2)
        rows = _rows(c)
        if rows:
            t = Table([Column("change"), Column("symbol"), Column("library"),
                       Column("version node"), Column("detail", "text", min_width=20)])
            for d in rows:
                t.add_row((d.change, CHANGE_STYLE[d.change]), display(d.name),
                          _arrow(d.old_library, d.new_library), _version_text(d),
                          d.detail or "")
            print_lines(con, t.lines(con.width))
        for (change, ol, nl, ov, nv), names in _unchanged_groups(c).items():
            what = "unchanged, renamed node" if change == "renamed-node" else "unchanged"
            where = _arrow(ol, nl) + (f" @ {_arrow(ov, nv)}" if ov or nv else "")
            print_indented(con, Text(f"{what} ({len(names)}): {where}", "dim"), 2, 4)
            print_lines(con, [Text(line, "dim") for line in
                              item_lines("", _names(names, verbose).split(", "), con.width, 4)])
        con.print()
    if not result.consumers:
        con.print("no consumer has unstable/private imports or resized copies on either side "
                  "(--all lists every consumer)\n")
    print_indented(con, Text(f"{len(result.consumers)} consumer(s) compared: "
                             f"{_totals_text(result)}"
                             + (f"; {len(result.errors)} input error(s)" if result.errors
                                else ""), "bold"), 0)
    from ..missing import is_missing_line

    for n in result.notes:
        if is_missing_line(n):
            warn(con, n)
    if verbose:
        for n in result.notes:
            if not is_missing_line(n):
                print_indented(con, Text(f"note: {n}", "dim"), 0)


def _md(s: str | None) -> str:
    return (s or "-").replace("|", "\\|")


def render_diff_markdown(result) -> str:
    out = [f"# abiguard diff: {_md(result.old)} → {_md(result.new)}", ""]
    t = result.totals()
    out += [(f"{len(result.consumers)} consumer(s) compared: **+{t['added']} added**, "
             f"-{t['removed']} removed, {t['moved']} moved, {t['unchanged']} unchanged "
             f"({t['renamed-node']} with a renamed version node)"
             + (f", **{t['resized']} copied object(s) resized (breaking)**" if t["resized"]
                else "") + "."), ""]
    from ..missing import is_missing_line

    out += [f"> **Warning:** {_md(n)}\n" for n in result.notes if is_missing_line(n)]
    for c in result.consumers:
        out += [f"## `{c.consumer}`", ""]
        if c.matched_by not in ("path",):
            out += [f"Matched by {c.matched_by}" + (f" (old: `{c.old_path}`)"
                                                    if c.old_path else "") + ".", ""]
        out += [f"- old: {_md(_side(c.old_path, c.old_package, c.old_count))}",
                f"- new: {_md(_side(c.new_path, c.new_package, c.new_count))}",
                f"- {summary_line(c)}", ""]
        rows = _rows(c)
        if rows:
            out += ["| change | symbol | library | version node | detail |",
                    "|---|---|---|---|---|"]
            for d in rows:
                out.append(f"| {d.change} | `{d.name}` | {_md(_arrow(d.old_library, d.new_library))}"
                           f" | {_md(_version_text(d))} | {_md(d.detail)} |")
            out.append("")
        for (change, ol, nl, ov, nv), names in _unchanged_groups(c).items():
            what = "Unchanged, renamed version node" if change == "renamed-node" else "Unchanged"
            where = _arrow(ol, nl) + (f" @ {_arrow(ov, nv)}" if ov or nv else "")
            out += [f"{what} ({len(names)}, {_md(where)}): "
                    + ", ".join(f"`{n}`" for n in names), ""]
    for e in result.errors:
        out.append(f"- input error: `{_md(e.path)}`: {_md(e.message)}")
    return "\n".join(out).rstrip() + "\n"


def render_trend_text(con, result, verbose: int = 0) -> None:
    from rich.text import Text

    from ..demangle import display
    from ..render.table import Column, Table, item_lines, print_lines

    con.print("[bold]Unstable/private symbols per version[/bold]")
    t = Table([Column("consumer")] + [Column(lab, "num") for lab in result.labels])
    for r in result.rows:
        t.add_row(r.consumer, *["-" if c is None else str(c) for c in r.counts])
    print_lines(con, t.lines(con.width))
    if verbose:
        for r in result.rows:
            prev: set[str] = set()
            for lab, syms in zip(result.labels, r.symbols):
                now = set(syms)
                plus, minus = sorted(now - prev), sorted(prev - now)
                if prev and (plus or minus):
                    print_lines(con, [Text(line) for line in item_lines(
                        f"{r.consumer} @ {lab}: ",
                        [f"+{display(s)}" for s in plus] + [f"-{display(s)}" for s in minus],
                        con.width, 2)])
                prev = now
    if not result.rows:
        con.print("no consumer has unstable/private imports in any version")


def render_trend_markdown(result) -> str:
    out = ["# Unstable/private symbols per version", "",
           "| consumer | " + " | ".join(_md(lab) for lab in result.labels) + " |",
           "|---|" + "---:|" * len(result.labels)]
    for r in result.rows:
        out.append(f"| `{r.consumer}` | " + " | ".join(
            "-" if c is None else str(c) for c in r.counts) + " |")
    out.append("")
    for e in result.errors:
        out.append(f"- input error: `{_md(e.path)}`: {_md(e.message)}")
    return "\n".join(out).rstrip() + "\n"
