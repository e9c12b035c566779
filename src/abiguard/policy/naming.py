"""Evidence source 4: what the library's name says.

* ``_internal``, ``-private`` or ``private`` as a part of the name (``libapt-private.so.0.0``,
  ``libabsl_strings_internal.so.20220623``): an internal library of its project -> private.
* a date-stamped snapshot soname (``libabsl_base.so.20220623``): a new ABI with every snapshot,
  no compatibility between them -> unstable.
* a libtool ``-release`` name (``libNAME-RELEASE[-TAG].so``, no number after ``.so``:
  ``libbfd-2.40-system.so``, ``libsystemd-shared-252.so``, ``libgettextlib-0.21.so``): libtool
  puts the release into the soname instead of an ABI version, so each release is a new
  soname -> unstable.
* a number in the name before a versioned ``.so`` (``libLLVM-14.so.1``, ``libpython3.11.so.1.0``)
  is weak: it is a release for LLVM and CPython but an API series for ``libglib-2.0.so.0``,
  ``libgtk-3.so.0`` and ``libdbus-1.so.3``, and the name alone cannot tell them apart (a version
  node naming it, a declaration or the archive's history does).
"""

from __future__ import annotations

import re

from ..model import Stability
from ..soname import name_number, numbers, split_soname
from .signals import NAMING, WEAK, LibraryFacts, Signal

_PRIVATE = re.compile(r"(?:^lib|[_-])(internal|private)(?=[_-]|$)", re.IGNORECASE)
_RELEASE = re.compile(r"^(?P<name>lib.+?)-(?P<rel>\d+(?:\.\d+)*)(?:-(?P<tag>[A-Za-z][\w.+]*))?$")
_DATE = re.compile(r"^(19[9]\d|20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
_SERIES = re.compile(r"(?:-\d+(?:\.\d+)*|\d+\.\d+)$")


def release_in_name(name: str) -> tuple[int, ...]:
    """The release a libtool ``-release`` name carries (``libbfd-2.40-system.so`` -> (2, 40)),
    else the number at the end of the stem before a versioned ``.so`` when it is dash-separated
    or dotted (``libLLVM-14.so.1`` -> (14,), ``libpython3.11.so.1.0`` -> (3, 11)); else ()."""
    parts = split_soname(name)
    if parts is None:
        return ()
    stem, ver = parts
    if not ver:
        m = _RELEASE.match(stem)
        return numbers(m.group("rel")) if m else ()
    if _SERIES.search(stem):
        hit = name_number(stem)
        return hit[1] if hit else ()
    return ()


def signals(facts: LibraryFacts) -> list[Signal]:
    name = facts.name
    parts = split_soname(name)
    stem, ver = parts if parts else (name, ())
    out: list[Signal] = []
    m = _PRIVATE.search(stem)
    if m:
        out.append(Signal("naming", NAMING, Stability.PRIVATE,
                          f"'{m.group(1)}' in the name {name}: an internal library of its "
                          "project, not an interface for others",
                          brief=f"'{m.group(1)}' in the name"))
    dated = [v for v in ver if _DATE.match(v)]
    if dated:
        out.append(Signal("naming", NAMING, Stability.UNSTABLE,
                          f"soname {name} is stamped with the snapshot date {dated[0]}: each "
                          "snapshot is a new ABI, with no compatibility between them",
                          brief=f"snapshot date {dated[0]} in the soname"))
    if not ver:
        r = _RELEASE.match(stem)
        if r:
            out.append(Signal("naming", NAMING, Stability.UNSTABLE,
                              f"libtool -release name {name}: release {r.group('rel')} is in "
                              "the soname itself, so every release is a new soname",
                              brief=f"-release name (release {r.group('rel')})"))
    elif _SERIES.search(stem) and not dated:
        hit = name_number(stem)
        if hit:
            num = ".".join(map(str, hit[1]))
            out.append(Signal("naming", WEAK, Stability.UNSTABLE,
                              f"the name {name} carries the number {num}: a release for some "
                              "(libLLVM-14, libpython3.11), an API series for others "
                              "(libglib-2.0, libgtk-3); the name alone does not decide",
                              brief=f"number {num} in the name"))
    return out
