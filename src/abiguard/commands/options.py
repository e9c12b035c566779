"""Every option of every command, defined once: its flags, its one meaning, its commands.

The commands' parsers are built from :data:`OPTIONS` (:func:`add`), and README's options
table is generated from it (:func:`markdown_table`; a test holds the two together), so an
option says the same thing in every ``--help`` and in the README. An option whose meaning
differs between commands (``--headers`` of ``where`` and of ``propose``) has one entry per
meaning. Old spellings stay as hidden, deprecated aliases (:data:`DEPRECATED`): they work,
with a one-line note on stderr.

Vocabulary: ``--fail-on WHAT`` (WHAT: a word the output prints), ``--source DIR`` a C source
tree, ``--source-package NAME`` a Debian source package, ``--suite SUITE`` a Debian suite,
``--policy FILE``/``--remedies FILE`` knowledge files, ``--exclude GLOB``/``--library GLOB``
consumer and library globs; repeatable options take one value each (FILE… options take
several: end the list with ``--``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import failon
from ..callsites import DEFAULT_TIMEOUT
from ..errors import UsageError

# (not imported from the comparisons or call sites: a scan does not need them)
SCAN_FAIL_ON = failon.SCAN
DIFF_FAIL_ON = failon.DIFF
IMPACT_FAIL_ON = failon.IMPACT

SCANNING = ("scan", "plan", "where", "diff", "gate", "propose")
"""The commands that scan their inputs as ``scan`` does."""
ALL = ("scan", "plan", "where", "link", "diff", "gate", "impact", "census", "report",
       "propose", "history")


@dataclass(frozen=True)
class Opt:
    """One option (flags and meaning) of some commands."""

    flags: tuple[str, ...]
    help: str
    """The one meaning, as every ``--help`` and the README say it."""
    commands: tuple[str, ...]
    group: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    """argparse keywords (action, metavar, default, type, choices, dest, required, nargs)."""
    per_command: dict[str, dict[str, Any]] = field(default_factory=dict)
    """argparse keywords that differ by command (choices and default of --format)."""
    hidden: tuple[str, ...] = ()
    """Commands that accept it without listing it (-v where it adds nothing)."""

    def for_command(self, command: str) -> dict[str, Any]:
        return {**self.kwargs, **self.per_command.get(command, {})}


def _o(flags: str, help: str, commands: Iterable[str], group: str, **kwargs: Any) -> Opt:
    per = kwargs.pop("per_command", {})
    hidden = tuple(kwargs.pop("hidden", ()))
    return Opt(tuple(flags.split()), help, tuple(commands), group, kwargs, per, hidden)


def _rep(metavar: str, **kw: Any) -> dict[str, Any]:
    """A repeatable option of one value each."""
    return {"action": "append", "default": [], "metavar": metavar, **kw}


_FORMATS = {
    "scan": ("text", "json", "markdown"), "plan": ("text", "json", "markdown"),
    "where": ("text", "json", "markdown", "sarif"), "link": ("text", "json", "markdown"),
    "diff": ("text", "json", "markdown", "svg"), "gate": ("text", "json", "markdown", "sarif"),
    "impact": ("text", "json", "markdown"), "census": ("text", "json"),
    "report": ("html", "json"), "propose": ("text", "json"), "history": ("toml", "json", "text"),
}

OUTPUT, RESOLUTION, FAILING = "output", "resolution", "failing"
SOURCES, TARGETS, FEATURES = "C sources and call sites", "target symbols", "features"
COMPARE, CENSUS, RESULTS = "comparing", "census: packages", "results and report"
RUN, PROPOSE, HISTORY, LINK = "census: execution", "proposal", "history", "link"

OPTIONS: tuple[Opt, ...] = (
    # ---- resolution: how inputs are fetched and their libraries found ----------------------
    _o("--suite", "take package names from this Debian suite (e.g. trixie, with its -updates "
       "and -security) instead of this machine's candidates, with that suite's libraries",
       (*SCANNING, "census"), RESOLUTION, metavar="SUITE"),
    _o("--with-deps", "also fetch (apt-get download) the library packages that package inputs "
       "depend on and are not installed here", (*SCANNING, "impact"), RESOLUTION,
       action="store_true"),
    _o("--provider", "a .deb whose libraries are used for resolution only (repeatable)",
       SCANNING, RESOLUTION, **_rep("DEB")),
    _o("--old-provider", "like --provider, for the OLD side only", ("diff",), RESOLUTION,
       **_rep("DEB")),
    _o("--new-provider", "like --provider, for the NEW side only", ("diff",), RESOLUTION,
       **_rep("DEB")),
    _o("--old-suite", "Debian suite for the package names of the OLD side", ("diff",),
       RESOLUTION, metavar="SUITE"),
    _o("--new-suite", "Debian suite for the package names of the NEW side", ("diff",),
       RESOLUTION, metavar="SUITE"),
    _o("--sysroot", "root file system the libraries are searched in, after those the inputs "
       "bring (default: /)", (*SCANNING, "impact", "census"), RESOLUTION, default="/",
       metavar="DIR"),
    _o("--lib-path", "extra library directory, searched after RUNPATH and before ld.so.conf "
       "(repeatable)", SCANNING, RESOLUTION, **_rep("DIR")),
    _o("--ld-library-path", "colon-separated directories, as LD_LIBRARY_PATH would give",
       SCANNING, RESOLUTION, default="", metavar="DIRS"),
    _o("--needed", "for .o/.a inputs (no DT_NEEDED): libraries to resolve against, like -l on "
       "a link line (repeatable)", SCANNING, RESOLUTION, **_rep("SONAME")),
    _o("-j --jobs", "processes resolving the consumers, at most 2 (default: 2 when there are "
       "2 CPUs or more and one is idle, by the load average); a second one only when there "
       "are enough consumers to pay for it; the answers are the same",
       SCANNING, RESOLUTION, type=int, default=None, metavar="N"),
    _o("--policy", "stability policy TOML file, consulted before the built-in ones "
       "(repeatable; docs/policy.md)", (*SCANNING, "impact", "census"), RESOLUTION,
       **_rep("FILE")),
    _o("--remedies", "remedies TOML file, consulted before the built-in knowledge "
       "(repeatable; docs/remedies.md)", ("plan", "where", "diff", "propose"), RESOLUTION,
       **_rep("FILE")),
    # ---- failing --------------------------------------------------------------------------
    _o("--fail-on", "exit 1 when an import is WHAT: unstable, private or unresolved "
       "(comma-separated or repeated; an import from a library not found counts with the "
       "class of its name)", ("scan", "plan"), FAILING, **_rep("WHAT")),
    _o("--fail-on", "exit 1 when the diff shows WHAT: added (an unstable/private symbol newly "
       "imported) or resized (a copied data object whose size changed: an ABI break) "
       "(comma-separated or repeated)",
       ("diff",), FAILING, **_rep("WHAT")),
    _o("--fail-on", "exit 1 when a consumer needs at least WHAT: "
       + " or ".join(IMPACT_FAIL_ON), ("impact",), FAILING, **_rep("WHAT")),
    # ---- C sources and call sites ---------------------------------------------------------
    _o("--source", "the consumer's C sources, a directory (where: or one file), searched for "
       "every reference to each symbol", ("plan", "where", "propose"), SOURCES,
       metavar="DIR"),
    _o("--source-package", "the Debian source package NAME (apt-get source with deb-src "
       "entries derived from this machine's; cached), searched as --source",
       ("plan", "where", "propose"), SOURCES, metavar="NAME"),
    _o("--cache-dir", "cache for --source-package (default: $ABIGUARD_CACHE, else "
       "$XDG_CACHE_HOME/abiguard)", ("plan", "where", "propose"), SOURCES, metavar="DIR"),
    _o("-D --define", "a macro for evaluating #if conditions (repeatable); with any -D/-U/"
       "--config-header, undefined macros count as 0 as in cpp", ("plan", "where"), SOURCES,
       **_rep("NAME[=VALUE]")),
    _o("-U --undefine", "a macro known to be undefined (repeatable)", ("plan", "where"),
       SOURCES, **_rep("NAME")),
    _o("--config-header", "a config-host.h style file of #define lines (repeatable)",
       ("plan", "where"), SOURCES, **_rep("FILE")),
    _o("--objects", "object files (.o) and archives (.a) of the consumer: their relocations "
       "are searched for references (several at once: end the list with --, or give the "
       "inputs first)", ("plan", "where"), SOURCES, action="extend", nargs="+", default=[],
       metavar="FILE"),
    _o("--binary-sites", "disassemble the scanned binaries (x86-64/AArch64) for call sites",
       ("plan",), SOURCES, action="store_true"),
    _o("--debug-dir", "directory of separate debug files for attributing binary call sites "
       "(repeatable)", ("where",), SOURCES, **_rep("DIR")),
    # ---- where: target symbols and features -----------------------------------------------
    _o("--symbol", "a target symbol, or several comma-separated (repeatable)", ("where",),
       TARGETS, **_rep("NAME")),
    _o("--symbols-from", "target symbols, one per line, or an abiguard JSON result (the "
       "unstable/private imports of its consumers) (repeatable)", ("where",), TARGETS,
       **_rep("FILE")),
    _o("--headers", "every function declared in these headers is a target, e.g. "
       "/usr/include/xenctrl.h (repeatable)", ("where",), TARGETS, **_rep("DIR_OR_FILE")),
    _o("--without", "leave out sources matching PATHGLOB (relative to the source root; "
       "repeatable), e.g. 'hw/xen/xen_pt*'", ("where",), FEATURES, **_rep("PATHGLOB")),
    _o("--features", "TOML file of named feature groups: [features] name = [globs]",
       ("where",), FEATURES, metavar="FILE"),
    _o("--without-feature", "leave out the sources of a named feature (repeatable)",
       ("where",), FEATURES, **_rep("NAME")),
    # ---- link -----------------------------------------------------------------------------
    _o("--without", "the library to drop: xc, -lxc, libxc.so.1, /path/libxc.a", ("link",),
       LINK, metavar="LIB", required=True),
    _o("-C --directory", "run the link command in DIR (default: the current directory)",
       ("link",), LINK, metavar="DIR"),
    _o("--timeout", "stop the link command after SECONDS (default: %(default)g)", ("link",),
       LINK, type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS"),
    _o("--show-output", "also print the linker's own output on stderr", ("link",), LINK,
       action="store_true"),
    # ---- diff, gate, impact ---------------------------------------------------------------
    _o("--trend", "count the unstable/private symbols per version of every input", ("diff",),
       COMPARE, action="store_true"),
    _o("--all", "also list consumers without unstable/private symbols on either side",
       ("diff",), COMPARE, action="store_true"),
    _o("--label", "name of each input in order (default: the package version or the input)",
       ("diff",), COMPARE, **_rep("NAME")),
    _o("--chart", "with --trend: also write the SVG chart", ("diff",), COMPARE,
       metavar="FILE"),
    _o("--baseline", "the baseline TOML file (docs/gate.md)", ("gate",), COMPARE,
       required=True, metavar="FILE"),
    _o("--update-baseline", "rewrite the baseline: drop what is no longer used (create it "
       "when missing)", ("gate",), COMPARE, action="store_true"),
    _o("--allow-growth", "with --update-baseline: also add the new symbols (accepting them)",
       ("gate",), COMPARE, action="store_true"),
    _o("--allow-unresolved", "check consumers whose libraries were not found too (by default "
       "an error, exit 2): their unresolved imports count with the class of the missing "
       "library's name, and a baseline symbol they still import is not gone", ("gate",),
       COMPARE, action="store_true"),
    _o("--from", "the libraries now: directory, .deb, apt package (repeatable, "
       "comma-separated)", ("impact",), COMPARE, dest="old", action="append", required=True,
       metavar="LIBS"),
    _o("--to", "the libraries after the upgrade (same forms)", ("impact",), COMPARE,
       dest="new", action="append", required=True, metavar="LIBS"),
    _o("--from-suite", "Debian suite of the package names in --from and --headers-from",
       ("impact",), COMPARE, metavar="SUITE"),
    _o("--to-suite", "Debian suite of the package names in --to and --headers-to (e.g. "
       "trixie)", ("impact",), COMPARE, metavar="SUITE"),
    _o("--headers-from", "headers of the old version: directory, .h file, .deb or apt package "
       "(e.g. libxen-dev); repeatable", ("impact",), COMPARE, **_rep("HEADERS")),
    _o("--headers-to", "headers of the new version (same forms)", ("impact",), COMPARE,
       **_rep("HEADERS")),
    # ---- census: packages -----------------------------------------------------------------
    _o("--store", "the SQLite results store (created if missing)", ("census",), CENSUS,
       required=True, metavar="FILE"),
    _o("--source-package", "every package using a binary package built from Debian source "
       "package NAME (e.g. xen): naming it in Pre-Depends, Depends, Recommends, Suggests or "
       "Enhances; the packages built from NAME itself are internal, shown apart and not "
       "ranked (repeatable)", ("census",), CENSUS, **_rep("NAME")),
    _o("--rdepends", "every package using a package matching GLOB (e.g. 'libxen*'; the same "
       "fields as --source-package) (repeatable)", ("census",), CENSUS, **_rep("GLOB")),
    _o("--roots", "a directory whose subdirectories are unpacked package roots (dpkg-deb "
       "-x/-R) (repeatable)", ("census",), CENSUS, **_rep("DIR")),
    _o("--packages-file", "a Packages index to read instead of apt's lists (repeatable; "
       "history: [SUITE=]FILE, apt's list files name their suite)", ("census", "history"),
       CENSUS, **_rep("FILE"), per_command={"history": {"metavar": "[SUITE=]FILE"}}),
    _o("--archive", "local mirror root the index's Filename fields are relative to (no "
       "download for what is there)", ("census",), CENSUS, metavar="DIR"),
    _o("--no-fetch", "never download (apt-get download) packages; use local files only",
       ("census",), CENSUS, action="store_true"),
    # ---- census: execution ----------------------------------------------------------------
    _o("-j --jobs", "local worker processes (default: the number of CPUs)", ("census",), RUN,
       type=int, default=None, metavar="N"),
    _o("--scheduler", "run on a Dask distributed cluster, e.g. tcp://host:8786 (workers need "
       "abiguard installed)", ("census",), RUN, metavar="ADDR"),
    _o("--timeout", "per-package time limit (default: %(default)g; 0: none)", ("census",), RUN,
       type=float, default=600.0, metavar="SECONDS"),
    _o("--no-lib-cache", "do not keep unpacked library packages between runs (default: kept "
       "in abiguard's cache, libroots/, keyed by SHA-256)", ("census",), RUN,
       action="store_true"),
    _o("--retry-failed", "also retry packages whose failure would repeat (bad input); "
       "crashes, timeouts and failed downloads are always retried", ("census",), RUN,
       action="store_true"),
    _o("--rescan", "scan again what is already stored (replaces the results)", ("census",),
       RUN, action="store_true"),
    # ---- census and report: results -------------------------------------------------------
    _o("--exclude", "leave out the consumers (packages) whose name matches GLOB (census: from "
       "the scan too) (repeatable)", ("census", "report"), RESULTS, **_rep("GLOB")),
    _o("--library", "only the symbols of libraries matching GLOB, e.g. 'libxenctrl.so*' "
       "(repeatable)", ("census", "report"), RESULTS, **_rep("GLOB")),
    _o("--failures", "list the failed packages of the store with their errors", ("census",),
       RESULTS, action="store_true"),
    _o("--export", "write aggregates: .csv (see --table), .json (everything), .parquet "
       "(findings; needs pyarrow) (repeatable)", ("census",), RESULTS, **_rep("FILE")),
    _o("--table", "what a .csv export holds (default: the consumer × symbol matrix)",
       ("census",), RESULTS, default="matrix",
       choices=("matrix", "findings", "symbols", "groups", "libraries", "failures")),
    _o("--threshold", "co-use groups: Jaccard similarity of consumer sets (default: "
       "%(default)g)", ("census", "report"), RESULTS, type=float, default=0.5, metavar="J"),
    _o("--group-method", "co-use grouping: average-linkage clustering or connected components "
       "(single linkage) (default: %(default)s)", ("census", "report"), RESULTS,
       default="average", choices=("average", "components")),
    _o("--top", "symbols ranked in the text summary (default: %(default)s)", ("census",),
       RESULTS, type=int, default=20, metavar="N"),
    _o("--all-libraries", "rank the unstable/private symbols of every library the consumers "
       "import (default for a --source-package census: only the libraries built from it)",
       ("census", "report"), RESULTS, action="store_true"),
    _o("--include-internal", "rank the packages built from a --source-package with the "
       "consumers (default: shown apart)", ("census", "report"), RESULTS,
       action="store_true"),
    _o("--title", "page title", ("report",), RESULTS, metavar="TEXT"),
    # ---- propose --------------------------------------------------------------------------
    _o("-d --output-dir", "directory the proposal, the library additions and the patches are "
       "written to", ("propose",), PROPOSE, required=True, metavar="DIR"),
    _o("--headers", "headers of the unstable and the stable library: directory, .h file, "
       ".deb or apt package (e.g. libxen-dev); repeatable, comma-separated", ("propose",),
       PROPOSE, **_rep("HEADERS")),
    _o("--headers-suite", "Debian suite of the package names in --headers", ("propose",),
       PROPOSE, metavar="SUITE"),
    _o("--stable-library", "the stable library itself (ELF), when the inputs do not load it: "
       "its version nodes give the new node (repeatable)", ("propose",), PROPOSE,
       **_rep("FILE")),
    _o("--min-version", "retire the compatibility code for library versions below this one, "
       "e.g. 4.6", ("propose",), PROPOSE, metavar="VERSION"),
    _o("--version-macro", "the consumer's macro holding the library version (default: from "
       "the remedies knowledge), e.g. CONFIG_XEN_CTRL_INTERFACE_VERSION=10000,100,1",
       ("propose",), PROPOSE, metavar="NAME[=SCALES]"),
    _o("--handle", "the consumer's handle of the stable library, for rewritten calls "
       "(default: its one file-scope variable of the handle type)", ("propose",), PROPOSE,
       metavar="EXPR"),
    _o("--check-source", "also check that the patches apply to this tree (repeatable)",
       ("propose",), PROPOSE, **_rep("DIR")),
    # ---- history --------------------------------------------------------------------------
    _o("--suites", "suites to compare, oldest first (e.g. bullseye,bookworm,trixie), read "
       "through apt configurations derived from this machine's sources", ("history",),
       HISTORY, default="", metavar="A,B,..."),
    _o("--contents-file", "a Contents index of a suite given by --packages-file: the sonames "
       "each package ships (repeatable)", ("history",), HISTORY, **_rep("[SUITE=]FILE")),
    _o("--no-contents", "do not fetch Contents indexes: derive sonames from package names",
       ("history",), HISTORY, action="store_true"),
    _o("--arch", "architecture (default: this machine's)", ("history",), HISTORY,
       metavar="ARCH"),
    _o("--family", "only families whose name matches GLOB (repeatable), e.g. 'libxen*'",
       ("history",), HISTORY, **_rep("GLOB")),
    _o("--decided", "only families with a verdict (stable or release-locked)", ("history",),
       HISTORY, action="store_true"),
    # ---- output ---------------------------------------------------------------------------
    _o("-f --format", "output format (default: %(default)s)", ALL, OUTPUT,
       per_command={c: {"choices": f, "default": f[0]} for c, f in _FORMATS.items()}),
    _o("-o --output", "write the result to FILE instead of standard output", ALL, OUTPUT,
       metavar="FILE"),
    _o("-q --quiet", "no progress or notes on stderr", ALL, OUTPUT, action="store_true"),
    _o("-v --verbose", "more detail: every library with problem imports and the per-file "
       "detail of a scan of many consumers, each library's evidence in full, the stable "
       "libraries (-vv: every binding)", ("scan",), OUTPUT, action="count", default=0),
    _o("-v --verbose", "more detail: each step's rationale in full, each symbol's rationale, "
       "verification and references", ("plan",), OUTPUT, action="count", default=0),
    _o("-v --verbose", "more detail: each remedy's rationale", ("where",), OUTPUT,
       action="count", default=0),
    _o("-v --verbose", "more detail: every unchanged symbol (not the first six) and the notes; "
       "with --trend, the symbols added and removed at each version", ("diff",), OUTPUT,
       action="count", default=0),
    _o("-v --verbose", "more detail: the symbols a new baseline accepts, the baseline keys "
       "not checked", ("gate",), OUTPUT, action="count", default=0),
    _o("-v --verbose", "more detail: the prototypes of every symbol, not only the changed "
       "ones", ("impact",), OUTPUT, action="count", default=0),
    _o("-v --verbose", "more detail: every co-use group, with all its symbols", ("census",),
       OUTPUT, action="count", default=0),
    _o("-v --verbose", "more detail: what stays unstable in each group, the references each "
       "patch leaves", ("propose",), OUTPUT, action="count", default=0),
    _o("-v --verbose", "no more detail here (accepted, as by every command)", (), OUTPUT,
       action="count", default=0, hidden=("link", "report", "history")),
    _o("--no-demangle", "show C++ symbol names as they are in the binary (text, Markdown, "
       "HTML; JSON always has them so)", ALL, OUTPUT, action="store_true"),
    _o("--consumer", "show these consumers in full: path, file name or package name matching "
       "GLOB (repeatable); a scan of more than a few consumers shows a summary otherwise",
       ("scan", "plan"), OUTPUT, **_rep("GLOB")),
)


# --------------------------------------------------------------------------------------------
# Deprecated spellings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deprecated:
    """An old spelling kept working (users' CI scripts): hidden from --help; a one-line note
    on stderr says what to write instead."""

    flag: str
    commands: tuple[str, ...]
    instead: str
    """What to write now (the note's text)."""
    dest: str
    """The new option's destination."""
    values: tuple[str, ...] | None = None
    """What the old flag (without a value) appends to ``dest``; None: it takes a value and
    appends that."""


DEPRECATED: tuple[Deprecated, ...] = (
    Deprecated("--fail-on-new", ("diff",), "--fail-on " + ",".join(DIFF_FAIL_ON), "fail_on",
               DIFF_FAIL_ON),
    Deprecated("--source", ("census",), "--source-package NAME", "source_package"),
)


class _DeprecatedAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, *, old: Deprecated,
                 **kwargs: Any) -> None:
        self.old = old
        super().__init__(option_strings, dest, nargs=0 if old.values is not None else None,
                         help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        sys.stderr.write(f"abiguard: {self.old.flag} is deprecated: write {self.old.instead} "
                         "(it still works)\n")
        current = list(getattr(namespace, self.old.dest, None) or [])
        current += list(self.old.values) if self.old.values is not None else [values]
        setattr(namespace, self.old.dest, current)


# --------------------------------------------------------------------------------------------
# Building the parsers
# --------------------------------------------------------------------------------------------


def options_of(command: str) -> list[Opt]:
    """The options of a command, in table order (hidden ones included)."""
    return [o for o in OPTIONS if command in o.commands or command in o.hidden]


def add(parser: argparse.ArgumentParser, command: str) -> None:
    """Add every option of ``command`` to its parser, in argument groups (those of the
    command first, then resolution, failing and output), and its deprecated spellings."""
    order = [SOURCES, TARGETS, FEATURES, LINK, COMPARE, CENSUS, RUN, RESULTS, PROPOSE, HISTORY,
             RESOLUTION, FAILING, OUTPUT]
    groups: dict[str, Any] = {}
    for opt in sorted(options_of(command), key=lambda o: order.index(o.group)):
        if opt.group not in groups:
            groups[opt.group] = parser.add_argument_group(opt.group)
        kwargs = opt.for_command(command)
        help_text = argparse.SUPPRESS if command in opt.hidden else opt.help
        groups[opt.group].add_argument(*opt.flags, help=help_text, **kwargs)
    for old in DEPRECATED:
        if command in old.commands:
            parser.add_argument(old.flag, dest=f"_deprecated_{old.dest}",
                                action=_DeprecatedAction, old=old)


def fail_on(values: Iterable[str], choices: Sequence[str]) -> list[str]:
    """The --fail-on values (comma-separated or repeated), each one of ``choices``."""
    out: list[str] = []
    for v in values:
        for item in v.split(","):
            item = item.strip()
            if item not in choices:
                raise UsageError(f"--fail-on {item!r}: expected one of {', '.join(choices)}")
            if item not in out:
                out.append(item)
    return out


# --------------------------------------------------------------------------------------------
# README's table
# --------------------------------------------------------------------------------------------


def _flag_text(opt: Opt) -> str:
    """``-D, --define NAME[=VALUE]`` as code."""
    kw = opt.kwargs
    metavar = kw.get("metavar")
    if metavar is None and (kw.get("choices") or opt.per_command):
        metavar = "FORMAT" if "--format" in opt.flags else \
            "{" + ",".join(kw.get("choices", ())) + "}"
    if kw.get("action") in ("store_true", "count"):
        metavar = None
    metas = [v["metavar"] for v in opt.per_command.values() if "metavar" in v]
    if metavar and metas:
        metavar = " | ".join(dict.fromkeys([metavar, *metas]))
    elif metavar and kw.get("nargs") == "+":
        metavar = f"{metavar}…"
    return "`" + ", ".join(opt.flags) + (f" {metavar}" if metavar else "") + "`"


def _help_text(opt: Opt) -> str:
    """The help as --help shows it where it is the same for every command; %(default)s of
    --format (which differs) as 'the first'."""
    text = opt.help
    if "%(default)" in text:
        defaults = {str(opt.for_command(c).get("default")) for c in opt.commands}
        if len(defaults) == 1:
            value = opt.kwargs.get("default")
            text = text % {"default": value}
        else:
            text = text.replace("(default: %(default)s)", "(the first one is the default)")
    return text


def _commands_text(opt: Opt) -> str:
    choices: dict[tuple[str, ...], list[str]] = {}
    for c in opt.commands:
        choices.setdefault(tuple(opt.for_command(c).get("choices") or ()), []).append(c)
    if len(choices) == 1 or not any("choices" in v for v in opt.per_command.values()):
        return ", ".join(opt.commands)
    return "; ".join(f"{', '.join(cs)}: {', '.join(ch)}" for ch, cs in choices.items())


def markdown_table() -> str:
    """README's options table: every option, its meaning, the commands that take it."""
    order = [RESOLUTION, FAILING, OUTPUT, SOURCES, TARGETS, FEATURES, LINK, COMPARE, CENSUS,
             RUN, RESULTS, PROPOSE, HISTORY]
    rows = ["| option | meaning | commands |", "|---|---|---|"]
    for opt in sorted((o for o in OPTIONS if o.commands), key=lambda o: order.index(o.group)):
        meaning = _help_text(opt).replace("|", "\\|")
        rows.append(f"| {_flag_text(opt)} | {meaning} | {_commands_text(opt)} |")
    return "\n".join(rows) + "\n"


__all__ = ["ALL", "DEPRECATED", "INPUT_HELP", "OPTIONS", "SCANNING", "SCAN_FAIL_ON", "Deprecated", "Opt",
           "add", "fail_on", "markdown_table", "options_of"]


INPUT_HELP = ("ELF file, ar archive, directory, .deb file, or apt package name (apt:NAME forces a "
              "package name; NAME=VERSION picks a version; NAME/SUITE another Debian suite)")
"""What the INPUT of scan, plan and gate is."""
