"""``abiguard link --without LIB -- <link command...>``: the link-line experiment.

Runs the user's link command without LIB (output redirected to a temporary file) and lists
the undefined references the linker reports: which object file and function uses which
symbol of LIB -- only the symbols LIB defines (its file found as the linker finds it, its
symbols read with abiguard's ELF reader); the other undefined references are listed apart as
"missing anyway". See :mod:`abiguard.callsites.link` and :mod:`abiguard.callsites.linklib`.
"""

from __future__ import annotations

import argparse
import json

from .. import __version__
from ..callsites.link import DEFAULT_TIMEOUT, LinkResult, run_link_experiment
from ..errors import UsageError
from ..model import SCHEMA_VERSION, to_dict
from . import _common

EXAMPLES = """\
examples:
  abiguard link --without xenctrl -- gcc -o qemu-system-i386 @objs.rsp -lxenctrl -lxenstore
  abiguard link --without libxc.so.1 -f json -- cc -o prog main.o util.o -L. -lxc
"""


def register(sub: argparse._SubParsersAction, help_text: str) -> None:
    p = sub.add_parser(
        "link", help=help_text, description=help_text + ". The given command is run (never "
        "through a shell) with LIB removed and its -o output replaced by a temporary file.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--without", metavar="LIB", required=True,
                   help="the library to drop: xc, -lxc, libxc.so.1, /path/libxc.a")
    p.add_argument("-C", "--directory", metavar="DIR",
                   help="run the link command in DIR (default: the current directory)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"stop the link command after SECONDS (default: {DEFAULT_TIMEOUT:g})")
    p.add_argument("--show-output", action="store_true",
                   help="also print the linker's own output on stderr")
    _common.add_output_options(p, ("text", "json", "markdown"))
    p.add_argument("link_command", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                   help="the link command, after --")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    argv = list(args.link_command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("no link command: abiguard link --without LIB -- CC -o OUT INPUTS...")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    result = run_link_experiment(argv, args.without, cwd=args.directory, timeout=args.timeout)
    if args.show_output and result.output:
        import sys
        sys.stderr.write(result.output)
    fmt = args.format
    if fmt == "json":
        text = render_json(result)
    elif fmt == "markdown":
        text = render_markdown(result)
    else:
        text = render_text(result, color=_common.use_color() and not args.output)
    _common.emit(args, text)
    for n in result.notes:
        _common.note(args, n)
    return 0


def result_dict(result: LinkResult) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "kind": "link",
        "library": result.library,
        "command": list(result.command),
        "ran": list(result.ran),
        "removed": list(result.removed),
        "linked": result.linked,
        "needed": result.needed,
        "attributed": result.attributed,
        "library_file": result.library_file,
        "symbols": list(result.symbols),
        "truncated": list(result.truncated),
        "notes": list(result.notes),
        "callsites": to_dict(list(result.sites)),
        "missing_anyway": {"symbols": list(result.other_symbols),
                           "callsites": to_dict(list(result.other_sites))},
        "tool_version": __version__,
    }


def render_json(result: LinkResult) -> str:
    return json.dumps(result_dict(result), indent=2) + "\n"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _summary(result: LinkResult) -> str:
    lib = f"lib{result.library}"
    if result.linked:
        return f"no references: {lib} is not needed (the link succeeded without it)"
    if result.attributed and not result.sites:
        return (f"no references to what {lib} defines: {lib} is not needed (the link fails "
                "without it only for references missing anyway)")
    n = len(result.sites)
    what = " it defines" if result.attributed else \
        f" ({lib} not found: not checked which it defines)"
    return (f"without {lib}: {_plural(n, 'undefined reference')} to "
            f"{_plural(len(result.symbols), 'symbol')}{what}")


def _anyway(result: LinkResult) -> str:
    return (f"missing anyway (not defined by lib{result.library}): "
            f"{_plural(len(result.other_sites), 'undefined reference')} to "
            f"{_plural(len(result.other_symbols), 'symbol')}")


def _ordered(sites):
    return sorted(sites, key=lambda s: (s.symbol, s.file, s.function or "", s.line or 0))


def _truncation_note(result: LinkResult) -> str | None:
    if not result.truncated:
        return None
    names = ", ".join("(all: too many errors)" if t == "*" else t for t in result.truncated)
    return (f"the linker stopped listing references to {names}; "
            "'abiguard where --objects' lists every one")


def render_text(result: LinkResult, color: bool = False, width: int | None = None) -> str:
    from ..demangle import display
    from ..render.table import Column, Table, paragraph, print_lines
    from ..render.text import console

    con = console(color, width)
    print_lines(con, paragraph(_summary(result), con.width, 0, 2))
    for title, sites in ((None, result.sites), (_anyway(result), result.other_sites)):
        if not sites:
            continue
        if title:
            print_lines(con, paragraph(title, con.width, 0, 2))
        table = Table([Column("symbol"), Column("file"), Column("function"),
                       Column("line", "num")], indent=0)
        for s in _ordered(sites):
            table.add_row(display(s.symbol), s.file, display(s.function) if s.function else "-",
                          str(s.line) if s.line is not None else "-")
        print_lines(con, table.lines(con.width))
    tn = _truncation_note(result)
    if tn:
        print_lines(con, paragraph(f"note: {tn}", con.width, 0, 2))
    return con.file.getvalue()


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(result: LinkResult) -> str:
    out = [f"# Link without lib{result.library}", "", _summary(result), ""]
    for title, sites in ((None, result.sites), (_anyway(result), result.other_sites)):
        if not sites:
            continue
        if title:
            out += [f"## {title[0].upper()}{title[1:]}", ""]
        out += ["| symbol | file | function | line |", "| --- | --- | --- | --- |"]
        for s in _ordered(sites):
            out.append(f"| `{_md(s.symbol)}` | {_md(s.file)} | {_md(s.function or '-')} | "
                       f"{s.line if s.line is not None else '-'} |")
        out.append("")
    tn = _truncation_note(result)
    if tn:
        out += [f"> {tn}", ""]
    return "\n".join(out)
