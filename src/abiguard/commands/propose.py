"""abiguard propose INPUT… --headers H --output-dir DIR — draft the stable-API proposal.

From a plan (``abiguard plan`` JSON), a scan JSON, a census store, or the inputs ``plan``
takes (package names, .debs, binaries): the symbols that need a new stable entry point or a
redesign, grouped as the remedies knowledge groups them, with prototypes derived from the
unstable and stable libraries' headers (``--headers``, as ``impact --headers-from`` takes
them: a directory, a header, a .deb or an apt package such as libxen-dev), written into
``--output-dir``: proposal.md (the RFC), the stable library's header fragment, version-script
node and forwarding skeleton, and — with ``--source``/``--source-package`` — consumer patches
(compatibility code below ``--min-version`` retired; calls whose stable replacement exists
rewritten). See docs/propose.md.

The work is :mod:`abiguard.propose` (:func:`abiguard.propose.inputs.propose`); proposal.md
is rendered by :mod:`abiguard.render.markdown.propose`.

Exit: 0 (also for "nothing to propose"); 2 usage or input errors, or a patch that does not
apply to a ``--check-source`` tree.
"""

from __future__ import annotations

import argparse

from ..propose.inputs import ProposeRequest, propose
from ..render import render
from . import _common, options


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser("propose", help=help_text, description=(
        "Draft the stable-API proposal for the unstable symbols that need a new entry point "
        "or a redesign: proposal.md (an RFC), a header fragment, a version-script node and a "
        "forwarding skeleton for the stable library, and consumer patches. Inputs: plan/scan "
        "JSON results, census stores, or what 'abiguard plan' scans. Exit: 0 ok (also when "
        "there is nothing to propose), 2 usage/input error or a patch that does not apply."))
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="a plan or scan JSON result, a census store, or what plan scans: ELF "
                        "file, directory, .deb, apt package name")
    options.add(p, "propose")
    p.set_defaults(run=run)


def request(args: argparse.Namespace) -> ProposeRequest:
    """The proposal the command line asks for."""
    return ProposeRequest(
        inputs=tuple(args.inputs), output_dir=args.output_dir, headers=tuple(args.headers),
        headers_suite=args.headers_suite, stable_libraries=tuple(args.stable_library),
        source=args.source, source_package=args.source_package, cache_dir=args.cache_dir,
        min_version=args.min_version, version_macro=args.version_macro, handle=args.handle,
        check_sources=tuple(args.check_source), remedies=tuple(args.remedies),
        scan=_common.scan_options(args))


def run(args: argparse.Namespace) -> int:
    bar = _common.progress_bar(args)
    source_progress = (lambda m: _common.note(args, m)) if _common.show_progress(args) \
        else None
    try:
        proposal, errors = propose(request(args), markdown=lambda p: render(p, "markdown"),
                                   note=lambda m: _common.note(args, m), progress=bar,
                                   source_progress=source_progress)
    finally:
        if bar is not None:
            bar.close()
    _common.emit(args, render(proposal, args.format, verbose=args.verbose))
    for e in list(errors) + list(proposal.errors):
        _common.error_line(e)
    return 2 if errors or proposal.errors else 0
