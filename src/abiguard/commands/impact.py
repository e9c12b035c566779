"""abiguard impact CONSUMER… --from LIBS --to LIBS — what a library upgrade breaks.

For the unstable/private symbols each consumer imports from the old library set: does the new
set still define them (same soname and node: the old binary keeps working; another soname or
node: rebuild), are they gone or only in another library, and — with ``--headers-from`` /
``--headers-to`` — did their prototypes change (:mod:`abiguard.headers`). Verdict per consumer:
``runs-as-is``, ``needs-rebuild``, ``needs-source-changes`` (listing the symbols), or
``not-affected``. The comparison is :mod:`abiguard.compare.impact`, the library sets
:mod:`abiguard.compare.libsets`.

Library sets (``--from``/``--to``, repeatable or comma-separated): directories, .deb files,
apt package names (``NAME``, ``NAME=VERSION``, ``NAME/SUITE``; ``--from-suite``/``--to-suite``
set the suite of the names without one). Headers: a directory, a header file, a .deb or an apt
package (e.g. ``libxen-dev --headers-to libxen-dev/trixie``). See docs/diff.md.

Exit: 0; 1 when ``--fail-on`` names a verdict a consumer reaches; 2 usage/input errors.
"""

from __future__ import annotations

import argparse

from ..compare.impact import FAIL_ON, failing, missing_note, unknown_consumers
from ..compare.libsets import upgrade_impact
from ..pipeline import ScanOptions
from ..render import render
from . import _common, options


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser("impact", help=help_text, description=(
        "For the unstable/private symbols a consumer imports from the libraries of --from: "
        "are they still in --to (same soname and version node, or only after a rebuild), "
        "gone, moved, and did their prototypes change (--headers-from/--headers-to)? "
        "Verdict: runs-as-is, needs-rebuild, needs-source-changes. Exit: 0; 1 when a "
        "consumer reaches the --fail-on verdict; 2 usage/input errors."))
    p.add_argument("inputs", nargs="+", metavar="CONSUMER",
                   help="the consumer: ELF file, directory, .deb, apt package name "
                        "(NAME, NAME=VERSION, NAME/SUITE) or a saved JSON result")
    options.add(p, "impact")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fail_on = options.fail_on(args.fail_on, FAIL_ON)
    scan = ScanOptions(sysroot=args.sysroot, policies=args.policy, with_deps=args.with_deps)
    result = upgrade_impact(args.inputs, args.old, args.new, from_suite=args.from_suite,
                            to_suite=args.to_suite, headers_from=args.headers_from,
                            headers_to=args.headers_to, scan=scan)
    _common.emit(args, render(result, args.format, verbose=args.verbose,
                              color=_common.color(args)))
    for e in result.errors:
        _common.error_line(e)
    if result.errors:
        return 2
    if fail_on:
        if failing(result, fail_on):
            return 1
        unknown = unknown_consumers(result)
        if unknown:
            _common.error_line(f"--fail-on {','.join(fail_on)} cannot be checked for "
                               f"{', '.join(unknown)}: {missing_note(result)}")
            return 2
    return 0
