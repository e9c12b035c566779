"""The pipeline every command runs: inputs -> ELF reader -> resolver -> policy -> Audit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import __version__
from .inputs import Collected, Target, collect
from .model import Audit, Consumer
from .policy import Policy
from .resolve import Layers, Resolver


@dataclass
class ScanOptions:
    sysroot: str = "/"
    lib_paths: list[str] = field(default_factory=list)
    ld_library_path: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    with_deps: bool = False
    provider_debs: list[str] = field(default_factory=list)
    needed: list[str] = field(default_factory=list)
    """For relocatable objects/archives: libraries to resolve their undefined symbols against
    (they have no DT_NEEDED), like -l options on a link line."""


def scan_targets(collected: Collected, options: ScanOptions, inputs: Iterable[str] = (),
                 policy: Policy | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> Audit:
    policy = policy or Policy.load(options.policies)
    resolver = Resolver(Layers(options.sysroot, list(collected.overlays)), policy=policy,
                        ld_library_path=options.ld_library_path, lib_paths=options.lib_paths,
                        extra_needed=options.needed)
    consumers = []
    errors = list(collected.errors)
    total = len(collected.targets)
    for i, t in enumerate(collected.targets):
        if progress:
            progress(i, total, t.installed)
        consumers.append(scan_one(resolver, t))
    if progress:
        progress(total, total, "")
    return Audit(consumers=tuple(consumers), errors=tuple(errors), inputs=tuple(inputs),
                 notes=tuple(collected.notes), policies=policy.origins, tool_version=__version__)


def scan_one(resolver: Resolver, t: Target) -> Consumer:
    libraries, bindings = resolver.resolve(t.elf, t.installed)
    e = t.elf
    return Consumer(path=t.installed, kind=e.kind, machine=e.machine, elf_class=e.elf_class,
                    soname=e.soname, origin=t.origin, package=t.package, needed=e.needed,
                    libraries=tuple(libraries), bindings=tuple(bindings), member=e.member)


def scan_paths(inputs: list[str], options: ScanOptions | None = None,
               progress: Callable[[int, int, str], None] | None = None) -> Audit:
    """Scan inputs (files, directories, .debs, apt package names) into an Audit."""
    options = options or ScanOptions()
    with collect(inputs, with_deps=options.with_deps,
                 provider_debs=options.provider_debs) as collected:
        return scan_targets(collected, options, inputs, progress=progress)
