"""Inputs: ELF files, ar archives, directories, .deb packages and apt package names.

``collect(specs, ...)`` turns what the user named into *targets* (the ELF objects to scan,
each with its installed path and origin), *overlays* (unpacked package roots the resolver
looks into before the sysroot) and *errors* (inputs that could not be read: reported, never
dropped). Each kind of input is a module of :mod:`abiguard.sources`, behind one protocol and a
registry from spec to kind; this module keeps the names callers of the past import.
"""

from __future__ import annotations

from . import limits
from .sources import Collected, Target, collect, walk

# Limits (issue #7: hostile inputs) live in abiguard.limits (configurable with --limit); these
# names are their defaults, kept for callers of the past.
MAX_UNPACKED_BYTES = limits.DEFAULTS.max_unpacked_bytes
MAX_MEMBERS = limits.DEFAULTS.max_tar_members

__all__ = ["MAX_MEMBERS", "MAX_UNPACKED_BYTES", "Collected", "Target", "collect", "walk"]
