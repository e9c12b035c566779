"""Evidence source 6, the soname's shape (weak: it never decides alone), and the one parser of
library names the other sources share.

``libz.so.1`` has one number after ``.so``: by convention a plain ABI major that changes only
when the ABI breaks. ``libbz2.so.1.0``, ``libdevmapper.so.1.02.1`` and ``libxenctrl.so.4.17``
have two or more: sometimes a release (Xen), often not (bzip2 and device-mapper have kept theirs
for decades). The shape alone cannot tell, so it only ever supports what stronger evidence says.
"""

from __future__ import annotations

import re

from ..model import Stability
from .signals import WEAK, LibraryFacts, Signal

_SONAME = re.compile(r"^(?P<stem>.+?)\.so(?P<ver>(?:\.[0-9][0-9A-Za-z_+~-]*)*)$")
_NAME_NUMBER = re.compile(r"^(?P<base>.*?[A-Za-z_+])-?(?P<num>\d+(?:[._]\d+)*)$")


def split_soname(name: str) -> tuple[str, tuple[str, ...]] | None:
    """``'libdevmapper.so.1.02.1'`` -> ``('libdevmapper', ('1', '02', '1'))``;
    ``'libnss3.so'`` -> ``('libnss3', ())``; a name without ``.so`` -> None."""
    m = _SONAME.match(name)
    if not m:
        return None
    ver = m.group("ver")
    return m.group("stem"), tuple(ver[1:].split(".")) if ver else ()


def numbers(text: str) -> tuple[int, ...]:
    """The leading run of numbers of a version text: ``'4.17.0'`` -> (4, 17, 0),
    ``'1_3'`` -> (1, 3), ``'2.40-system'`` -> (2, 40)."""
    out = []
    for part in re.split(r"[._]", text):
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group()))
        if m.end() != len(part):
            break
    return tuple(out)


def name_number(stem: str) -> tuple[str, tuple[int, ...]] | None:
    """A number at the end of a library's stem: ``'libLLVM-14'`` -> ('libLLVM', (14,)),
    ``'libpython3.11'`` -> ('libpython', (3, 11)), ``'libglib-2.0'`` -> ('libglib', (2, 0)),
    ``'libnss3'`` -> ('libnss', (3,)); None when the stem ends in a letter."""
    m = _NAME_NUMBER.match(stem)
    if not m:
        return None
    return m.group("base"), numbers(m.group("num"))


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
