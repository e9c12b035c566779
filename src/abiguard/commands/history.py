"""abiguard history — the Debian archive's history of its shared libraries, as policy TOML.

For each library family (a package named after its soname, Debian Policy 8.1, without that
number) it writes each suite's package, sonames and upstream version, the verdict (stable,
release-locked, undecided) and the sentence of evidence: a policy file that ``--policy`` takes.
The history itself is :mod:`abiguard.policy.collect`. Exit: 0 ok; 2 usage error, or a suite
that could not be read (the others are still written when at least two remain).
"""

from __future__ import annotations

import argparse

from ..cachedir import cache_dir
from ..policy.collect import history, selected
from ..render import render
from . import _common, options


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser("history", help=help_text, description=(
        "Read the package lists of several Debian suites (oldest first) and write, per "
        "library family, each suite's soname and upstream version, the verdict and its "
        "evidence, as a policy file --policy takes (docs/policy.md). Exit: 0 ok, 2 usage "
        "error or a suite that could not be read."))
    options.add(p, "history")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    result = history(suites, packages_files=args.packages_file,
                     contents_files=args.contents_file, arch=args.arch,
                     contents=not args.no_contents, cache=cache_dir())
    for line in result.notes:
        _common.note(args, line)
    for err in result.errors:
        _common.error_line(err)
    if not result.data:
        _common.error_line(f"history needs at least two readable suites (read: "
                           f"{', '.join(result.suites) or 'none'})")
        return 2
    shown = selected(result, args.family, args.decided)
    n: dict[str, int] = {}
    for e in result.data["history"]:
        n[e["verdict"]] = n.get(e["verdict"], 0) + 1
    _common.note(args, f"history of {len(result.data['history'])} library families in "
                       f"{', '.join(result.suites)}: " + ", ".join(
                           f"{n.get(v, 0)} {v}" for v in ("stable", "release-locked",
                                                           "undecided"))
                 + (" (cached)" if result.cached else "")
                 + (f"; writing {len(shown.data['history'])}" if len(shown.data["history"]) !=
                    len(result.data["history"]) else ""))
    _common.emit(args, render(shown, args.format))
    return 2 if result.errors else 0
