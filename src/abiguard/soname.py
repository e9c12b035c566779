"""The one parser of shared-library names: sonames, their numbers, their family.

``libxenctrl.so.4.17`` is stem ``libxenctrl`` with the numbers ``4.17`` after ``.so``; its
*family* (the library without its release) is ``libxenctrl``. The policy reads the shape of a
soname as (weak) evidence (:mod:`abiguard.policy.soname`); ``diff``, ``gate`` and ``impact``
match libraries across releases by family (:mod:`abiguard.compare`).
"""

from __future__ import annotations

import os
import re

_SONAME = re.compile(r"^(?P<stem>.+?)\.so(?P<ver>(?:\.[0-9][0-9A-Za-z_+~-]*)*)$")
_NAME_NUMBER = re.compile(r"^(?P<base>.*?[A-Za-z_+])-?(?P<num>\d+(?:[._]\d+)*)$")
_PARTS = re.compile(r"[._]")
_DIGITS = re.compile(r"\d+")


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
    digits = _DIGITS.match
    for part in _PARTS.split(text):
        m = digits(part)
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


def family(soname: str | None) -> str:
    """The library without its release: ``libxenctrl.so.4.17`` -> ``libxenctrl``;
    ``libc.so.6`` -> ``libc``; ``ld-linux-x86-64.so.2`` -> ``ld-linux-x86-64``; a path gives
    its file name's family. A name that is not a soname (no ``.so``, or numbers after it
    that do not start with a digit) is its own family; None is ``?``."""
    if not soname:
        return "?"
    base = os.path.basename(soname)
    parts = split_soname(base)
    return parts[0] if parts is not None else base


__all__ = ["family", "name_number", "numbers", "split_soname"]
