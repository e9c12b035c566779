"""Evidence source 3: where the library was found.

A library that ld.so reaches only through a program's RUNPATH or RPATH, in a directory of an
installed package that is neither a default directory nor one of ld.so.conf's
(``/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so`` through busctl's RUNPATH
``/usr/lib/x86_64-linux-gnu/systemd``), is private to the package that ships it: Debian allows
RPATH/RUNPATH only for such private libraries, and nothing outside the package is meant to
link it.

Only directories of installed packages count (under ``/usr``, ``/lib*`` or ``/opt``, as the
resolver sees them, also inside a sysroot or an unpacked .deb): a library next to a program in a
build tree (``$ORIGIN/lib`` under ``/home`` or ``/tmp``) is the project's own, not another
package's, and the location says nothing about it.
"""

from __future__ import annotations

import posixpath

from ..model import Stability
from .signals import LOCATION, LibraryFacts, Signal

PACKAGE_ROOTS = ("/usr/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/opt/")
"""Where installed packages put their files (FHS); a build tree lives elsewhere."""

VIA = ("RUNPATH", "RPATH")
"""The only ways of being found that say something: a program's own search path."""


def _forms(directory: str) -> set[str]:
    """A directory and its merged-/usr twin (/lib/x <-> /usr/lib/x)."""
    d = posixpath.normpath(directory)
    out = {d}
    if d.startswith("/usr/lib"):
        out.add(d[4:])
    elif d.startswith("/lib"):
        out.add("/usr" + d)
    return out


def is_package_private(directory: str, system_dirs: tuple[str, ...]) -> bool:
    """A directory of an installed package that ld.so does not search for everyone."""
    d = posixpath.normpath(directory)
    if not (d + "/").startswith(PACKAGE_ROOTS):
        return False
    system = {f for s in system_dirs for f in _forms(s)}
    return not (_forms(d) & system)


def signal(facts: LibraryFacts) -> Signal | None:
    loc = facts.location
    if loc is None or loc.found_via not in VIA or loc.directory is None:
        return None
    d = posixpath.normpath(loc.directory)
    if not is_package_private(d, loc.system_dirs):
        return None
    return Signal("location", LOCATION, Stability.PRIVATE,
                  f"found only through {loc.found_via} in {d} (not a default or ld.so.conf "
                  "directory): private to the package that ships it",
                  brief=f"{loc.found_via} into {d}")


def key(facts: LibraryFacts) -> tuple[str, str] | None:
    """What of the location the verdict depends on (for caching classifications)."""
    s = signal(facts)
    return (s.detail, "") if s is not None else None
