"""abiguard census — scan many packages in parallel into a results store (docs/census.md).

    abiguard census --source-package xen --store xen.sqlite           # consumers of a source
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
import fnmatch
import os
import shutil
import sys
from typing import Any

from ..cachedir import cache_dir
from ..census import engine, ownlibs, sources
from ..census.overview import CensusFailures, CensusOverview, check_export, export, overview
from ..census.store import Store
from ..debian.apt import Apt, AptError
from ..debian.suites import apt_for
from ..errors import UsageError
from ..render import render
from ..render.progress import CensusBar
from . import _common, options


def register(sub: _common.Subparsers, help_text: str) -> None:
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
    options.add(p, "census")
    p.set_defaults(run=run)


def _apt_refs(args: argparse.Namespace, names: list[str], apt: Apt, internal: dict[str, str],
              libraries: dict[str, list[sources.PackageRef]]) -> list[sources.PackageRef]:
    """The packages named, the consumers of --source-package and --rdepends, from apt's
    candidates (or --packages-file), each with its library closure; ``internal`` gets the
    packages built from a --source-package, ``libraries`` its library packages."""
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
    for src in args.source_package:
        built = index.built_from(src)
        if not built:
            raise UsageError(f"--source-package {src}: no package in {index.origin} is built "
                             "from it")
        users = index.consumers_of(built)
        subject.update(built)
        inside = [r.name for r in users if (r.source or r.name) == src]
        internal.update(dict.fromkeys(inside, src))
        libraries[src] = [ref for n in ownlibs.library_packages(built)
                          if (ref := index.get(n)) is not None]
        _common.note(args, f"--source-package {src}: {len(built)} binary package(s) built "
                           f"from it "
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


def _refs(args: argparse.Namespace, config_packages: dict[str, str], apt: Apt,
          internal: dict[str, str], libraries: dict[str, list[sources.PackageRef]]
          ) -> list[sources.PackageRef]:
    """The packages to scan, and the package set dependencies are looked up in."""
    found = sources.census_inputs(args.inputs, args.roots)
    for note in found.notes:
        _common.note(args, note)
    refs: list[sources.PackageRef] = []
    if found.names or args.rdepends or args.source_package:
        refs += _apt_refs(args, found.names, apt, internal, libraries)
    config_packages.update(found.packages)
    refs += found.refs
    if args.exclude:
        refs = [r for r in refs if not any(fnmatch.fnmatchcase(r.name, g) for g in args.exclude)]
    return refs


def _scan(args: argparse.Namespace, store: Store) -> dict[str, Any] | None:
    packages: dict[str, str] = {}
    internal: dict[str, str] = {}
    libraries: dict[str, list[sources.PackageRef]] = {}
    if args.suite and args.packages_file:
        raise UsageError("give either --suite or --packages-file, not both")
    apt, _derived = apt_for(args.suite)
    refs = _refs(args, packages, apt, internal, libraries)
    if internal:
        store.mark_internal(internal)
    if not args.no_fetch and not args.packages_file:
        for src, libs in libraries.items():
            sonames, problems = ownlibs.shipped_sonames(apt, libs)
            for line in problems:
                _common.note(args, f"--source-package {src}: libraries of {line}")
            store.mark_own_libraries(src, sonames)
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
    bar = CensusBar() if _common.show_progress(args) else None
    try:
        counts = engine.run_census(refs, store, eng, config, retry_failed=args.retry_failed,
                                   rescan=args.rescan, arguments=sys.argv[1:], progress=bar)
    finally:
        if bar is not None:
            bar.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    counts["engine"] = eng.describe()
    return counts


def run(args: argparse.Namespace) -> int:
    if not 0 < args.threshold <= 1:
        raise UsageError("--threshold must be in (0, 1]")
    for path in args.export:
        check_export(path)
    scanning = bool(args.inputs or args.rdepends or args.source_package or args.roots)
    if not scanning and not os.path.exists(args.store):
        raise UsageError(f"--store {args.store}: no such store (give inputs to create it)")
    store = Store(args.store)
    try:
        counts = _scan(args, store) if scanning else None
        if scanning and counts is None:
            _common.note(args, "nothing to scan: no packages found in the inputs")
        view = overview(store, run=counts, exclude=args.exclude, libraries=args.library,
                        include_internal=args.include_internal,
                        all_libraries=args.all_libraries, threshold=args.threshold,
                        method=args.group_method)
    finally:
        store.close()
    for path in args.export:
        export(view.aggregate, path, args.table)
        _common.note(args, f"wrote {path}")
    shown: CensusOverview | CensusFailures = \
        CensusFailures(view.aggregate) if args.failures else view
    _common.emit(args, render(shown, args.format, top=args.top, verbose=args.verbose))
    if counts is not None and counts["failed"]:
        return 2
    return 0
