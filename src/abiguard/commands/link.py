"""``abiguard link --without LIB -- <link command...>``: the link-line experiment.

Runs the user's link command without LIB (output redirected to a temporary file) and lists
the undefined references the linker reports: which object file and function uses which
symbol of LIB -- only the symbols LIB defines (its file found as the linker finds it, its
symbols read with abiguard's ELF reader); the other undefined references are listed apart as
"missing anyway". See :mod:`abiguard.callsites.link` and :mod:`abiguard.callsites.linklib`.
"""

from __future__ import annotations

import argparse
import sys

from ..callsites.link import run_link_experiment
from ..errors import UsageError
from ..render import render
from . import _common, options

EXAMPLES = """\
examples:
  abiguard link --without xenctrl -- gcc -o qemu-system-i386 @objs.rsp -lxenctrl -lxenstore
  abiguard link --without libxc.so.1 -f json -- cc -o prog main.o util.o -L. -lxc
"""


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser(
        "link", help=help_text, description=help_text + ". The given command is run (never "
        "through a shell) with LIB removed and its -o output replaced by a temporary file.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add(p, "link")
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
        sys.stderr.write(result.output)
    _common.emit(args, render(result, args.format, color=_common.color(args)))
    for n in result.notes:
        _common.note(args, n)
    return 0
