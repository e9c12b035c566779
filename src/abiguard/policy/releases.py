"""One suite's view of a library family (:class:`Release`), as the ``releases`` of a policy
file's ``[[history]]`` entry give it, and its one-line form. Read when a history is written
or checked (``abiguard history``, a user's policy file): a scan never reads the releases.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Release:
    """One suite's view of a library family: its package, version and sonames."""

    suite: str
    package: str
    version: str
    upstream: str
    sonames: tuple[str, ...] = ()
    derived: bool = False
    """The sonames were derived from the package name (Debian Policy 8.1), not read from the
    suite's Contents index."""


def release_line(r: Release) -> str:
    """The one-line form of a release (what generated JSON files use: one string parses
    faster than a table): ``SUITE PACKAGE VERSION UPSTREAM SONAME,SONAME|- [derived]``."""
    return " ".join([r.suite, r.package, r.version, r.upstream or "-",
                     ",".join(r.sonames) or "-", *(["derived"] if r.derived else [])])


__all__ = ["Release", "release_line"]
