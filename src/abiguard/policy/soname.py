"""Evidence source 6, the soname's shape (weak: it never decides alone). The names are parsed by
:mod:`abiguard.soname` (the one parser of library names, shared with the comparisons).

``libz.so.1`` has one number after ``.so``: by convention a plain ABI major that changes only
when the ABI breaks. ``libbz2.so.1.0``, ``libdevmapper.so.1.02.1`` and ``libxenctrl.so.4.17``
have two or more: sometimes a release (Xen), often not (bzip2 and device-mapper have kept theirs
for decades). The shape alone cannot tell, so it only ever supports what stronger evidence says.
"""

from __future__ import annotations

from ..model import Stability
from ..soname import name_number, numbers, split_soname
from .signals import WEAK, LibraryFacts, Signal


def signal(facts: LibraryFacts) -> Signal | None:
    parts = split_soname(facts.name)
    if parts is None or not parts[1]:
        return None
    ver = ".".join(parts[1])
    if len(parts[1]) >= 2:
        return Signal("soname", WEAK, Stability.UNSTABLE,
                      f"soname {facts.name} has {len(parts[1])} numbers after .so ({ver}): a "
                      "release for some (libxenctrl.so.4.17), not for others (libbz2.so.1.0); "
                      "the shape alone does not decide",
                      brief=f"soname has {len(parts[1])} numbers ({ver})")
    return Signal("soname", WEAK, Stability.STABLE,
                  f"soname {facts.name} has a plain major ({ver}): by convention the ABI "
                  "breaks only with a new soname; the shape alone does not decide",
                  brief=f"plain soname major ({ver})")


__all__ = ["name_number", "numbers", "signal", "split_soname"]
