"""abiguard where — where each target symbol is used: C sources, object files, binaries.

The search itself is :mod:`abiguard.callsites.where`; this module turns the command line into
its :class:`~abiguard.callsites.where.WhereRequest` and renders the result.
"""

from __future__ import annotations

import argparse

from ..callsites.result import WhereResult
from ..callsites.where import WhereRequest, find
from ..render import render
from . import _common, options

EPILOG = """\
columns of the text and Markdown tables:
  file:line:col  where the reference is (a binary: file+address)
  function       the function it is in (a binary: from its symbols or debug files)
  via            the macro or inline function it is used through
  kind           call, address (taken), macro (in a macro body), reference, jump,
                 got-load
  compiled       yes/no: whether the site's #if branch is compiled with the -D/-U/
                 --config-header values given (or a constant such as #if 0 decides it);
                 ?: they do not decide it; -: an object or binary site (compiled anyway).
                 Shown once something decides it.
  condition      the #if condition the site sits under
"""


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser("where", help=help_text, description=(
        "Find every place that references the target symbols: C sources (parsed with "
        "tree-sitter, no build needed; calls, function pointers, macro bodies, with the "
        "#if conditions they sit under), object files and archives (relocations), and "
        "binaries (disassembly). Exit: 0 ok, 2 usage/input error."),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="*", metavar="BINARY",
                   help="programs/libraries to scan: their unstable imports become the "
                        "targets, and their own call sites are found by disassembly")
    options.add(p, "where")
    p.set_defaults(run=run)


def request(args: argparse.Namespace) -> WhereRequest:
    """The search the command line asks for."""
    return WhereRequest(
        inputs=tuple(args.inputs), symbols=tuple(args.symbol),
        symbols_from=tuple(args.symbols_from), headers=tuple(args.headers),
        source=args.source, source_package=args.source_package, cache_dir=args.cache_dir,
        defines=tuple(args.define), undefines=tuple(args.undefine),
        config_headers=tuple(args.config_header), without=tuple(args.without),
        features=args.features, without_features=tuple(args.without_feature),
        objects=tuple(args.objects), debug_dirs=tuple(args.debug_dir),
        remedies=tuple(args.remedies), scan=_common.scan_options(args))


def search(args: argparse.Namespace) -> WhereResult:
    progress = (lambda m: _common.note(args, m)) if _common.show_progress(args) else None
    return find(request(args), note=lambda m: _common.note(args, m), progress=progress)


def run(args: argparse.Namespace) -> int:
    result = search(args)
    for n in result.notes:
        _common.note(args, n)
    _common.emit(args, render(result, args.format, verbose=args.verbose,
                              color=_common.color(args)))
    if result.errors:
        for e in result.errors:
            _common.error_line(e)
        return 2
    return 0
