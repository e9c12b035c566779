"""abiguard census — scan many packages in parallel into a results store (docs/census.md).

    abiguard census --source xen --store xen.sqlite                   # consumers of a source
    abiguard census --rdepends 'libxen*' --store xen.sqlite          # apt's candidates
    abiguard census ./pool/ --store s.sqlite -j 8                     # a directory of .debs
    abiguard census --roots ./unpacked/ --store s.sqlite              # unpacked roots
    abiguard census qemu-system-xen libvirt0 --store s.sqlite --scheduler tcp://h:8786
    abiguard census --store s.sqlite                                  # summary of a store
    abiguard census --store s.sqlite --failures                       # what failed, and why
    abiguard census --store s.sqlite --export matrix.csv              # .csv .json .parquet
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ..errors import UsageError
from . import _common


def register(sub, help_text: str) -> None:
    p = sub.add_parser("census", help=help_text, description=(
        "Scan many consumer packages (apt package names, the consumers of the packages a "
        "source package builds, all reverse dependencies of library packages, a directory "
        "of .debs, or unpacked roots) in parallel, each against the "
        "library packages of the same set, into an SQLite results store. A re-run skips "
        "what is stored; an interrupted run resumes. Without inputs: summarise, list "
        "failures or export the store. Exit: 0 ok, 2 usage error or a package failed."))
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="apt package name, .deb file, directory of .debs, or directory of "
                        "unpacked package roots")
    p.add_argument("--store", required=True, metavar="FILE",
                   help="the SQLite results store (created if missing)")
    s = p.add_argument_group("sources")
    s.add_argument("--source", action="append", default=[], metavar="SRC",
                   help="every package using a binary package built from source package SRC "
                        "(e.g. xen): naming it in Pre-Depends, Depends, Recommends, Suggests "
                        "or Enhances; the packages built from SRC itself are internal, shown "
                        "apart and not ranked (repeatable)")
    s.add_argument("--rdepends", action="append", default=[], metavar="GLOB",
                   help="every package using a package matching GLOB (e.g. 'libxen*'; the "
                        "same fields as --source) (repeatable)")
    s.add_argument("--suite", metavar="SUITE",
                   help="apt's candidates of another Debian suite (e.g. trixie, with its "
                        "-updates and -security) instead of this machine's")
    s.add_argument("--roots", action="append", default=[], metavar="DIR",
                   help="a directory whose subdirectories are unpacked package roots "
                        "(dpkg-deb -x/-R) (repeatable)")
    s.add_argument("--packages-file", action="append", default=[], metavar="FILE",
                   help="a Packages index to use instead of apt's lists (repeatable)")
    s.add_argument("--archive", metavar="DIR",
                   help="local mirror root the index's Filename fields are relative to "
                        "(no download for what is there)")
    s.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out packages whose name matches GLOB, from the scan and from "
                        "the results shown/exported (repeatable)")
    s.add_argument("--no-fetch", action="store_true",
                   help="never download (apt-get download) packages; use local files only")
    e = p.add_argument_group("execution")
    e.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="local worker processes (default: the number of CPUs)")
    e.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask distributed cluster, e.g. tcp://host:8786 (workers "
                        "need abiguard installed)")
    e.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                   help="per-package time limit (default: 600; 0: none)")
    e.add_argument("--no-lib-cache", action="store_true",
                   help="do not keep unpacked library packages between runs (default: kept "
                        "in abiguard's cache, libroots/, keyed by SHA-256)")
    e.add_argument("--retry-failed", action="store_true",
                   help="also retry packages whose failure would repeat (bad input); "
                        "crashes, timeouts and failed downloads are always retried")
    e.add_argument("--rescan", action="store_true",
                   help="scan again what is already stored (replaces the results)")
    r = p.add_argument_group("resolution")
    r.add_argument("--sysroot", default="/", metavar="DIR",
                   help="root file system for libraries not in the package set (default: /)")
    r.add_argument("--policy", action="append", default=[], metavar="FILE",
                   help="stability policy TOML file (repeatable; see docs/policy.md)")
    q = p.add_argument_group("results")
    q.add_argument("--failures", action="store_true",
                   help="list the failed packages of the store with their errors")
    q.add_argument("--export", action="append", default=[], metavar="FILE",
                   help="write aggregates: .csv (see --table), .json (everything), .parquet "
                        "(findings; needs pyarrow) (repeatable)")
    q.add_argument("--library", action="append", default=[], metavar="GLOB",
                   help="results: only the symbols of libraries matching GLOB, e.g. "
                        "'libxenctrl.so*' (repeatable)")
    q.add_argument("--table", default="matrix",
                   choices=("matrix", "findings", "symbols", "groups", "libraries", "failures"),
                   help="what a .csv export holds (default: the consumer × symbol matrix)")
    q.add_argument("--threshold", type=float, default=0.5, metavar="J",
                   help="co-use groups: Jaccard similarity of consumer sets (default 0.5)")
    q.add_argument("--group-method", default="average", choices=("average", "components"),
                   help="co-use grouping: average-linkage clustering or connected "
                        "components (single linkage) (default: average)")
    q.add_argument("--top", type=int, default=20, metavar="N",
                   help="symbols shown in the text summary (default 20)")
    q.add_argument("--include-internal", action="store_true",
                   help="rank the packages built from a --source package with the "
                        "consumers (default: shown apart)")
    _common.add_output_options(p, ("text", "json"))
    p.set_defaults(run=run)


# --------------------------------------------------------------------------------------------


def _apt_refs(args: argparse.Namespace, names: list[str], apt, internal: dict[str, str]
              ) -> list:
    """The packages named, the consumers of --source and --rdepends, from apt's candidates
    (or --packages-file), each with its library closure."""
    from ..census import sources
    from ..debian.apt import AptError

    index = sources.AptIndex.load(args.packages_file or None, archive=args.archive, apt=apt)
    picked = []
    subject: set[str] = set()  # what is asked about: followed from any field of a consumer
    for spec in names:
        name, _, version = spec.partition("=")
        ref = index.get(name)
        if version and (ref is None or ref.version != version):
            if args.packages_file:
                have = f"; it has {ref.version}" if ref is not None else ""
                raise UsageError(f"{spec}: not in {index.origin}{have}")
            rec = apt.exact(name, version)
            if rec is None:
                err = apt.resolve([spec])[spec]
                raise err if isinstance(err, AptError) else UsageError(f"{spec}: not found")
            ref = sources.PackageRef.from_record(rec)
        if ref is None:
            raise UsageError(f"{name}: no such package in {index.origin}")
        picked.append(ref)
    for src in args.source:
        built = index.built_from(src)
        if not built:
            raise UsageError(f"--source {src}: no package in {index.origin} is built from it")
        users = index.consumers_of(built)
        subject.update(built)
        inside = [r.name for r in users if (r.source or r.name) == src]
        internal.update(dict.fromkeys(inside, src))
        _common.note(args, f"--source {src}: {len(built)} binary package(s) built from it "
                           f"({_few(built)}); {len(users) - len(inside)} consumer(s) outside "
                           f"it, {len(inside)} internal ({_few(inside)})")
        picked += users
    for pattern in args.rdepends:
        libs, rdeps = index.rdepends([pattern])
        subject.update(libs)
        _common.note(args, f"--rdepends {pattern}: {len(libs)} package(s) ({_few(libs)}), "
                           f"{len(rdeps)} reverse dependencies")
        picked += rdeps
    out, seen = [], set()
    for ref in picked:
        if ref.name not in seen:
            seen.add(ref.name)
            out.append(index.with_closure(ref, also=subject))
    return out


def _few(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (", …" if len(names) > n else "")


def _refs(args: argparse.Namespace, config_packages: dict[str, str], apt,
          internal: dict[str, str]):
    """The packages to scan, and the package set dependencies are looked up in."""
    from ..census import sources

    found = sources.census_inputs(args.inputs, args.roots)
    for note in found.notes:
        _common.note(args, note)
    refs: list = []
    if found.names or args.rdepends or args.source:
        refs += _apt_refs(args, found.names, apt, internal)
    config_packages.update(found.packages)
    refs += found.refs
    if args.exclude:
        import fnmatch

        refs = [r for r in refs if not any(fnmatch.fnmatchcase(r.name, g) for g in args.exclude)]
    return refs


class _Bar:
    """A rich progress bar with packages/s, MB/s and ETA (stderr, only on a terminal)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from ..render.progress import stderr_console

        self.p = Progress(TextColumn("census"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                          TextColumn("ETA"), TimeRemainingColumn(),
                          TextColumn("[dim]{task.fields[current]}"),
                          console=stderr_console(), transient=True)
        self.task = self.p.add_task("census", total=None, rate="", current="")
        self.t0 = time.perf_counter()
        self.p.start()

    def __call__(self, done: int, total: int, result, nbytes: int) -> None:
        dt = max(time.perf_counter() - self.t0, 1e-6)
        rate = f"{done / dt:.2f} pkg/s {nbytes / dt / 1e6:.1f} MB/s" if done else ""
        current = ""
        if result is not None:
            current = result.name + (" [red]failed" if result.status != "ok" else "")
        self.p.update(self.task, completed=done, total=total, rate=rate, current=current[-50:])

    def close(self) -> None:
        self.p.stop()


def _scan(args: argparse.Namespace, store) -> dict | None:
    from ..cachedir import cache_dir
    from ..census import engine
    from ..debian.suites import apt_for

    packages: dict[str, str] = {}
    internal: dict[str, str] = {}
    if args.suite and args.packages_file:
        raise UsageError("give either --suite or --packages-file, not both")
    apt, _derived = apt_for(args.suite)
    refs = _refs(args, packages, apt, internal)
    if internal:
        store.mark_internal(internal)
    if not refs:
        return None
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    workdir = engine.new_workdir()
    scratch = engine.new_scratch()
    config = engine.Config.from_env(
        sysroot=args.sysroot, policies=tuple(os.path.abspath(p) for p in args.policy),
        timeout=args.timeout or None, fetch=not args.no_fetch, workdir=workdir,
        scratch=scratch, packages=packages, apt=apt.config,
        libroots=None if args.no_lib_cache else str(cache_dir() / "libroots"))
    eng = engine.make_engine(args.jobs, args.scheduler)
    bar = _Bar() if _common.show_progress(args) else None
    try:
        counts = engine.run_census(refs, store, eng, config, retry_failed=args.retry_failed,
                                   rescan=args.rescan, arguments=sys.argv[1:], progress=bar)
    finally:
        if bar is not None:
            bar.close()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    counts["engine"] = eng.describe()
    return counts


def run(args: argparse.Namespace) -> int:
    from ..census import aggregate
    from ..census.store import Store

    if not 0 < args.threshold <= 1:
        raise UsageError("--threshold must be in (0, 1]")
    for path in args.export:
        ext = os.path.splitext(path)[1].lower()
        if ext not in (".csv", ".json", ".parquet"):
            raise UsageError(f"--export {path}: unknown format (use .csv, .json or .parquet)")
        if ext == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise UsageError(f"--export {path}: Parquet needs pyarrow, which is not "
                                 "installed (use .csv or .json)") from None
    scanning = bool(args.inputs or args.rdepends or args.source or args.roots)
    if not scanning and not os.path.exists(args.store):
        raise UsageError(f"--store {args.store}: no such store (give inputs to create it)")
    store = Store(args.store)
    try:
        counts = _scan(args, store) if scanning else None
        if scanning and counts is None:
            _common.note(args, "nothing to scan: no packages found in the inputs")
        data = aggregate.CensusData.from_store(store)
        store_counts = store.counts()
    finally:
        store.close()
    data = data.filtered(args.exclude, args.library)
    inside = None
    if not args.include_internal:
        data, internal = data.split_internal()
        if internal.consumers:
            inside = aggregate.aggregate(internal, threshold=args.threshold,
                                         method=args.group_method, remedies=False)
    agg = aggregate.aggregate(data, threshold=args.threshold, method=args.group_method)
    for path in args.export:
        ext = os.path.splitext(path)[1].lower()
        try:
            if ext == ".parquet":
                agg.write_parquet(path)
            else:
                text = agg.to_json() if ext == ".json" else agg.to_csv(args.table)
                with open(path, "w", encoding="utf-8", newline="") as fh:
                    fh.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write --export {path}: {exc.strerror}") from None
        _common.note(args, f"wrote {path}")
    if args.failures:
        text = render_failures(agg) if args.format == "text" else _json_failures(agg)
    elif args.format == "json":
        import json

        d = agg.to_dict()
        if inside is not None:
            d["internal"] = inside.to_dict()
        if counts is not None:
            d["run"] = counts
        text = json.dumps(d, indent=2) + "\n"
    else:
        text = render_summary(agg, counts, store_counts, args.store, top=args.top,
                              verbose=args.verbose, internal=inside)
    _common.emit(args, text)
    if counts is not None and counts["failed"]:
        return 2
    return 0


def _json_failures(agg) -> str:
    import json

    return json.dumps(agg.to_dict()["failures"], indent=2) + "\n"


def render_failures(agg) -> str:
    fails = agg.failures
    if not fails:
        return "no failures\n"
    out = [f"{len(fails)} failed package(s):"]
    for c in fails:
        out.append(f"  {c.name} {c.version} {c.arch}: [{c.error_kind}] {c.error}")
    return "\n".join(out) + "\n"


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def render_internal(inside, width: int) -> list[str]:
    """The packages built from a --source package: apart from the consumers."""
    from ..render.table import item_lines, paragraph

    per: dict[str, set[str]] = {}
    for (r, k) in inside.matrix:
        per.setdefault(r, set()).add(k[1])
    sources = sorted({c.internal for c in inside.consumers if c.internal})
    out = [""] + paragraph(f"Internal: {len(inside.consumers)} package(s) built from "
                           f"{', '.join(sources)} (not ranked; --include-internal ranks "
                           "them):", width)
    none = []
    for c in sorted(inside.consumers, key=lambda c: (-len(per.get(c.name, ())), c.name)):
        if per.get(c.name):
            out += paragraph(f"{c.name} {c.version}: {len(per[c.name])} unstable/private "
                             "symbol(s)", width, 2, 4)
        else:
            none.append(c.name)
    if none:
        out += item_lines("no unstable/private symbol: ", none, width, 2)
    return out


def render_summary(agg, counts, store_counts, store_path: str, top: int = 20,
                   verbose: int = 0, width: int | None = None, internal=None) -> str:
    """The text summary of a store: identifiers never break (abiguard.render.table); at a
    narrow width the ranking's columns fold. ``internal``: the aggregate of the packages
    built from a --source package, listed apart."""
    from ..demangle import display
    from ..render.table import Column, Table, item_lines, paragraph
    from ..render.text import terminal_width

    width = width or terminal_width()
    out: list[str] = []
    if counts is not None:
        secs = max(counts["seconds"], 1e-9)
        rate = (f" — {counts['done'] / secs:.2f} packages/s, "
                f"{counts['bytes'] / secs / 1e6:.1f} MB/s" if counts["done"] else "")
        out += paragraph(f"census: {counts['planned'] + counts['skipped']} package(s): "
                         f"{counts['done']} scanned, {counts['skipped']} already stored, "
                         f"{counts['failed']} failed, in {counts['seconds']:.1f} s{rate} "
                         f"[{counts['engine']}]", width, 0, 2)
    s = agg.summary()
    out += paragraph(f"store {store_path}: {store_counts['packages']} package result(s) "
                     f"({_mb(store_counts['bytes'])}); {s['consumers']} package(s) by name, "
                     f"{s['with_findings']} import unstable/private symbols, "
                     f"{s['failed']} failed", width, 0, 2)
    if s["failed"]:
        out += paragraph(f"failures: abiguard census --store {store_path} --failures",
                         width, 2, 4)
    if agg.symbols:
        shown = agg.symbols[:top] if top else agg.symbols
        out += [""] + paragraph(f"Stabilise these first ({len(shown)} of {len(agg.symbols)} "
                                "unstable/private symbols, by consumers, then co-use):", width)
        t = Table([Column("rank", "num"), Column("symbol"), Column("library"),
                   Column("consumers", "num"), Column("group", drop=1),
                   Column("remedy", "text")], indent=2)
        for x in shown:
            t.add_row(str(x.rank), display(x.symbol), x.library, str(len(x.consumers)),
                      ("G" + str(x.group)) if x.group else "-", x.remedy or "-")
        out += [line.plain for line in t.lines(width)]
        out += ["", "Libraries:"]
        for lib in agg.libraries:
            names = lib["consumer_names"][:6] + (["…"] if lib["consumers"] > 6 else [])
            out += item_lines(f"{lib['library']}: {lib['symbols']} symbol(s) used by "
                              f"{lib['consumers']} package(s): ", names, width, 2)
        out += [""] + paragraph(f"Co-use groups (Jaccard ≥ {agg.threshold:g}, {agg.method}): "
                                f"{len(agg.groups)}", width)
        for g in agg.groups[: (None if verbose else 10)]:
            names = [display(sym) for _, sym in g.symbols]
            shown_names = names if verbose or len(names) <= 8 else names[:8] + ["…"]
            users = g.consumers[:5] + (["…"] if len(g.consumers) > 5 else [])
            out += item_lines(f"G{g.id} ({g.kind} together, {len(g.symbols)} symbols, "
                              f"J min {g.min_jaccard:.2f}), used by {len(g.consumers)} "
                              f"({', '.join(users)}): ", shown_names, width, 2)
        if not verbose and len(agg.groups) > 10:
            out.append(f"  … {len(agg.groups) - 10} more (-v)")
        out += ["", "Packages importing unstable/private symbols:"]
        per: dict[str, list[str]] = {}
        per_lib: dict[str, set[str]] = {}
        for (r, k) in agg.matrix:
            per.setdefault(r, []).append(k[1])
            per_lib.setdefault(r, set()).add(k[0])
        info = {c.name: c for c in agg.consumers}
        for r in agg.rows:
            c = info.get(r)
            libs = sorted(per_lib[r])
            out += item_lines(f"{r} {c.version if c else ''}: {len(per[r])} symbol(s) from ",
                              libs, width, 2)
    elif counts is not None or store_counts["packages"]:
        out += ["", "No package imports an unstable or private symbol."]
    if internal is not None:
        out += render_internal(internal, width)
    return "\n".join(out) + "\n"
