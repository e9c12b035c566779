"""The shared libraries a source package builds: what a ``--source-package`` census ranks.

The maintainers of a source package ask who uses the unstable symbols of *its* libraries
(for xen: libxenctrl.so.4.17, libxentoolcore.so.1, …), not what else those consumers import.
The libraries are read from the packages themselves: the binaries built from the source
package that Debian Policy 8.1 names as library packages (``lib*``, not ``-dev``/``-doc``/
debug symbols), downloaded once through the apt client's cache and unpacked (kept by SHA-256,
:mod:`abiguard.debian.unpacked`), and every shared object in them with a soname; the store
keeps the answer (:meth:`~abiguard.census.store.Store.mark_own_libraries`). The internal
packages' own audits add the sonames of whatever else they ship.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..debian.apt import Apt, AptError
from ..sources import REGISTRY, Collected, Context, PackageRef, shared_objects
from ..sources.deb import add_deb

_NOT_LIBRARIES = ("-dev", "-doc", "-dbg", "-dbgsym")


def library_packages(names: Iterable[str]) -> list[str]:
    """The names of library packages among binary package names (Debian Policy 8.1)."""
    return sorted(n for n in names if n.startswith("lib") and not n.endswith(_NOT_LIBRARIES))


def sonames_below(root: str) -> set[str]:
    """The sonames of the shared objects under an unpacked package root."""
    return {elf.soname for _, elf in shared_objects(root) if elf.soname}


def shipped_sonames(apt: Apt, refs: Iterable[PackageRef]) -> tuple[set[str], list[str]]:
    """(the sonames the packages ship, one line per package that could not be read). Each
    package is unpacked as a scan unpacks it (:func:`abiguard.sources.deb.add_deb`: its kept
    tree, else a temporary one removed here)."""
    refs = list(refs)
    sonames: set[str] = set()
    problems: list[str] = []
    got = apt.download(refs)
    with Collected() as out:
        ctx = Context(out, REGISTRY)
        for ref in refs:
            deb = got.get(ref.name)
            if deb is None or isinstance(deb, AptError):
                problems.append(f"{ref.name}: "
                                f"{deb.reason if deb is not None else 'not downloaded'}")
            elif add_deb(str(deb), ctx, consumers=False, sha256=ref.sha256) is not None:
                sonames |= sonames_below(out.overlays[-1])
        problems += [str(e) for e in out.errors]
    return sonames, problems


__all__ = ["library_packages", "shipped_sonames", "sonames_below"]
