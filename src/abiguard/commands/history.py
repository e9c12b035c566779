"""abiguard history — the Debian archive's history of its shared libraries, as policy TOML.

For each library family (a package named after its soname, Debian Policy 8.1, without that
number) it writes each suite's package, sonames and upstream version, the verdict (stable,
release-locked, undecided) and the sentence of evidence: a policy file that ``--policy`` takes.
Exit: 0 ok; 2 usage error, or a suite that could not be read (the others are still written
when at least two remain).
"""

from __future__ import annotations

import argparse
import fnmatch

from . import _common


def register(sub, help_text: str) -> None:
    p = sub.add_parser("history", help=help_text, description=(
        "Read the package lists of several Debian suites (oldest first) and write, per "
        "library family, each suite's soname and upstream version, the verdict and its "
        "evidence, as a policy file --policy takes (docs/policy.md). Exit: 0 ok, 2 usage "
        "error or a suite that could not be read."))
    g = p.add_argument_group("suites")
    g.add_argument("--suites", default="", metavar="A,B,...",
                   help="suites to compare, oldest first (e.g. bullseye,bookworm,trixie), "
                        "read through apt configurations derived from this machine's sources")
    g.add_argument("--packages-file", action="append", default=[], metavar="[SUITE=]FILE",
                   help="a Packages index of a suite, offline (repeatable; apt list files "
                        "name their suite, other files need SUITE=)")
    g.add_argument("--contents-file", action="append", default=[], metavar="[SUITE=]FILE",
                   help="a Contents index of a suite given by --packages-file: the sonames "
                        "each package ships (repeatable)")
    g.add_argument("--no-contents", action="store_true",
                   help="do not fetch Contents indexes: derive sonames from package names")
    g.add_argument("--arch", metavar="ARCH", help="architecture (default: this machine's)")
    s = p.add_argument_group("selection")
    s.add_argument("--family", action="append", default=[], metavar="GLOB",
                   help="only families whose name matches (repeatable), e.g. 'libxen*'")
    s.add_argument("--decided", action="store_true",
                   help="only families with a verdict (stable or release-locked)")
    _common.add_output_options(p, ("toml", "json", "text"))
    p.set_defaults(run=run)


def _text(data: dict) -> str:
    lines = []
    for e in data["history"]:
        lines.append(f"{e['family']}: {e['verdict']}: {e['reason']}")
        for r in e["releases"]:
            so = ", ".join(r.get("sonames", [])[:3]) + (" …" if len(r.get("sonames", [])) > 3
                                                         else "")
            lines.append(f"    {r['suite']:<10} {r['package']:<28} {r['upstream']:<12} {so}"
                         + ("  (derived)" if r.get("derived") else ""))
    return "\n".join(lines) + ("\n" if lines else "")


def run(args: argparse.Namespace) -> int:
    from ..cachedir import cache_dir
    from ..policy import archive
    from ..policy.collect import history

    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    result = history(suites, packages_files=args.packages_file,
                     contents_files=args.contents_file, arch=args.arch,
                     contents=not args.no_contents, cache=cache_dir())
    for n in result.notes:
        _common.note(args, n)
    for e in result.errors:
        _common.error_line(e)
    if not result.data:
        _common.error_line(f"history needs at least two readable suites (read: "
                           f"{', '.join(result.suites) or 'none'})")
        return 2
    data = dict(result.data)
    data["history"] = [e for e in data["history"]
                       if (not args.family or any(fnmatch.fnmatchcase(e["family"], g)
                                                  for g in args.family))
                       and (not args.decided or e["verdict"] != "undecided")]
    n: dict[str, int] = {}
    for e in result.data["history"]:
        n[e["verdict"]] = n.get(e["verdict"], 0) + 1
    _common.note(args, f"history of {len(result.data['history'])} library families in "
                       f"{', '.join(result.suites)}: " + ", ".join(
                           f"{n.get(v, 0)} {v}" for v in ("stable", "release-locked",
                                                           "undecided"))
                 + (" (cached)" if result.cached else "")
                 + (f"; writing {len(data['history'])}" if len(data["history"]) !=
                    len(result.data["history"]) else ""))
    text = {"toml": archive.to_toml, "json": archive.to_json, "text": _text}[args.format](data)
    _common.emit(args, text)
    return 2 if result.errors else 0
