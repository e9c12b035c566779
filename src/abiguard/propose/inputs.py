"""What ``abiguard propose`` gathers before :mod:`.build` drafts the proposal: the plans of
its inputs (plan/scan JSON results, census stores, or what ``plan`` scans), the headers, the
stable libraries, the consumer's sources and their call sites; :func:`propose` is the whole
command (rendering proposal.md is the caller's: ``markdown``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from ..callsites.source import scan_sources
from ..callsites.where import source_root
from ..census.aggregate import CensusData
from ..census.store import Store, is_store
from ..compare.libsets import Sets, split_specs
from ..elf import read_elf
from ..errors import ElfError, InputFileError, UsageError
from ..headers import parse_headers
from ..model import CallSite, InputError, Library, Plan
from ..pipeline import ScanOptions, plan_paths
from ..remedies import Knowledge, load_knowledge, plan_consumer
from ..results import is_json_result, read_result
from . import build as builder
from .demand import Demands, find_library, finish, from_census, from_plans
from .derive import Headers
from .result import Proposal


def _ignore(_message: str) -> None:
    return None


@dataclass(frozen=True)
class ProposeRequest:
    """What ``abiguard propose`` was asked (its options, as data)."""

    inputs: tuple[str, ...]
    output_dir: str
    headers: tuple[str, ...] = ()
    """Header specs (repeated or comma-separated): directory, .h, .deb or apt package."""
    headers_suite: str | None = None
    stable_libraries: tuple[str, ...] = ()
    source: str | None = None
    source_package: str | None = None
    cache_dir: str | None = None
    min_version: str | None = None
    version_macro: str | None = None
    handle: str | None = None
    check_sources: tuple[str, ...] = ()
    remedies: tuple[str, ...] = ()
    scan: ScanOptions = field(default_factory=ScanOptions)
    """How the inputs that are not results or stores are scanned (as ``plan``)."""


def check(req: ProposeRequest) -> None:
    """Usage errors before any work."""
    if req.min_version and not (req.source or req.source_package):
        raise UsageError("--min-version needs the consumer's sources (--source or "
                         "--source-package)")
    if req.check_sources and not (req.source or req.source_package):
        raise UsageError("--check-source needs --source or --source-package")
    for d in req.check_sources:
        if not os.path.isdir(d):
            raise UsageError(f"--check-source {d}: not a directory")


def plans_of(req: ProposeRequest, knowledge: Knowledge, scan_inputs: list[str],
             results: list[str], progress: Callable[[int, int, str], None] | None = None
             ) -> list[Plan]:
    """The plans of the saved results (a scan planned here) and of the scanned inputs."""
    plans = []
    for path in results:
        try:
            obj = read_result(path)
        except InputFileError as exc:
            raise UsageError(str(exc)) from None
        if not isinstance(obj, Plan):
            obj = Plan(audit=obj, plans=tuple(plan_consumer(c, knowledge, lambda _p: None)
                                              for c in obj.consumers),
                       knowledge=knowledge.origins)
        plans.append(obj)
    if scan_inputs:
        plans.append(plan_paths(scan_inputs, req.scan, remedies=req.remedies,
                                progress=progress))
    return plans


class CensusLibraries:
    """Find a stable library (with its version nodes) in a census store's stored scans."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.cache: dict[str, Library | None] = {}

    def __call__(self, pattern: str) -> Library | None:
        if pattern in self.cache:
            return self.cache[pattern]
        found = None
        for path in self.paths:
            with Store(path, create=False) as store:
                for pkg in store.latest():
                    if pkg.status != "ok" or not pkg.findings:
                        continue
                    audit = store.audit(pkg.id)
                    if audit is None:
                        continue
                    for c in audit.consumers:
                        found = find_library(c.libraries, pattern)
                        if found is not None:
                            break
                    if found is not None:
                        break
            if found is not None:
                break
        self.cache[pattern] = found
        return found


def stable_libraries(files: tuple[str, ...]) -> list[Library]:
    """The --stable-library files, read with their version nodes."""
    out = []
    for path in files:
        try:
            elf = read_elf(path)
        except (OSError, ElfError) as exc:
            message = exc.message if isinstance(exc, ElfError) else exc
            raise UsageError(f"--stable-library {path}: {message}") from None
        out.append(Library(os.path.basename(path), path, elf.soname, "direct",
                           version_defs=tuple(d.name for d in elf.version_defs
                                              if not d.is_base)))
    return out


def headers_of(sets: Sets, req: ProposeRequest) -> Headers | None:
    specs = split_specs(list(req.headers))
    if not specs:
        return None
    try:
        paths, label = sets.header_paths(specs, req.headers_suite)
    except InputFileError as exc:
        raise UsageError(str(exc)) from None
    roots = tuple(p if os.path.isdir(p) else os.path.dirname(p) or "." for p in paths)
    return Headers(parse_headers(paths), roots, label)


def source_sites(root: str | None, symbols: list[str],
                 progress: Callable[[str], None] | None = None) -> dict[str, list[CallSite]]:
    if root is None or not symbols:
        return {}
    scan = scan_sources(root, symbols, progress=progress)
    out: dict[str, list[CallSite]] = {}
    for site in scan.callsites:
        out.setdefault(site.symbol, []).append(site)
    return out


def propose(req: ProposeRequest, *, markdown: Callable[[Proposal], str],
            note: Callable[[str], None] = _ignore,
            progress: Callable[[int, int, str], None] | None = None,
            source_progress: Callable[[str], None] | None = None
            ) -> tuple[Proposal, list[InputError]]:
    """The proposal (written into ``req.output_dir`` when there is one, proposal.md as
    ``markdown`` renders it) and the input errors of the plans it came from."""
    check(req)
    knowledge = load_knowledge(list(req.remedies))
    stores = [i for i in req.inputs if os.path.isfile(i) and is_store(i)]
    results = [i for i in req.inputs if i not in stores and is_json_result(i)]
    scan_inputs = [i for i in req.inputs if i not in stores and i not in results]
    sets = Sets()
    with ExitStack() as stack:
        stack.callback(sets.close)
        headers = headers_of(sets, req)
        root = source_root(req.source, req.source_package, req.cache_dir, note,
                           directory=True)
        plans = plans_of(req, knowledge, scan_inputs, results, progress)
        demands = from_plans(plans, Demands())
        census_total = None
        for path in stores:
            with Store(path, create=False) as store:
                from_census(CensusData.from_store(store), demands)
            census_total = (census_total or 0) + (demands.census_total or 0)
        sites = source_sites(root, sorted(demands.symbols), source_progress)
        symbols = finish(demands, knowledge, sites)
        request = builder.Request(
            symbols=symbols, consumers=list(demands.consumers), knowledge=knowledge,
            headers=headers, libraries=demands.libraries + stable_libraries(
                req.stable_libraries),
            find_library=CensusLibraries(stores) if stores else None,
            source_root=root, sites=sites, min_version=req.min_version,
            version_macro=req.version_macro, handle=req.handle,
            check_sources=list(req.check_sources), inputs=list(req.inputs),
            census=", ".join(stores) or None, census_total=census_total,
            notes=[n for plan in plans for n in plan.audit.notes])
        proposal = builder.build(request)
        if proposal.groups or proposal.patches:
            proposal = builder.write(proposal, req.output_dir, markdown(proposal))
    return proposal, [e for plan in plans for e in plan.audit.errors]


__all__ = ["CensusLibraries", "ProposeRequest", "check", "headers_of", "plans_of", "propose",
           "source_sites", "stable_libraries"]
