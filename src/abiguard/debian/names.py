"""What an input names, told from its text: a Debian package (``NAME``, ``NAME=VERSION``,
``apt:NAME``), or one of another suite (``NAME/SUITE``) -- an existing path is neither.

Asked of every input of every command, so that it needs nothing of apt (abiguard.debian.suites
re-exports it)."""

from __future__ import annotations

import os
import re

_SPEC_RE = re.compile(r"^(apt:)?([a-z0-9][a-z0-9+.-]+)(=[A-Za-z0-9.+~:-]+)?/([a-z][a-z0-9-]*)$")
PACKAGE_RE = re.compile(r"^(apt:)?([a-z0-9][a-z0-9+.-]+)(=[A-Za-z0-9.+~:-]+)?$")
"""An apt package input: ``NAME``, ``NAME=VERSION``, optionally ``apt:``-prefixed."""


def is_package_name(spec: str) -> bool:
    """Whether an input names an apt package (and not an existing path)."""
    return PACKAGE_RE.match(spec) is not None and not os.path.exists(spec)


def split_spec(spec: str) -> tuple[str, str | None]:
    """``'qemu-system-xen/trixie'`` -> ``('qemu-system-xen', 'trixie')``;
    ``'apt:libx=1.2/trixie'`` -> ``('libx=1.2', 'trixie')``; anything else -> ``(spec, None)``.

    Existing paths are never split (``dir/sub`` stays a path)."""
    m = _SPEC_RE.match(spec)  # (first: a path seldom has that form, and needs no stat then)
    if not m or os.path.exists(spec):
        return spec, None
    return m.group(2) + (m.group(3) or ""), m.group(4)


__all__ = ["PACKAGE_RE", "is_package_name", "split_spec"]
