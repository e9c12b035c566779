"""What apt gives for the package names of a scan (:func:`fetch_names`: the ``apt`` kind's
one resolution and download, :meth:`abiguard.sources.apt.AptSource.prepare`). Loaded with
the first name fetched: a scan of files never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..debian.apt import AptError
from ..model import InputError
from ..notify import Notify

if TYPE_CHECKING:
    from pathlib import Path

    from ..debian.apt import Apt


@dataclass
class Fetched:
    """What apt gave for some names: .debs by name, errors by name and in order."""

    debs: dict[str, Path] = field(default_factory=dict)
    sha256: dict[str, str | None] = field(default_factory=dict)
    """name -> the SHA-256 apt's record gives for its .deb (checked by the download)"""
    failures: dict[str, AptError] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)
    failed_download: bool = False


def fetch_names(apt: Apt, names: list[str], notify: Notify) -> Fetched:
    """apt's records of the names (the version chosen first), then their .debs (the cache,
    else one download)."""
    got = Fetched()
    records = {}
    for spec, rec in apt.resolve(names).items():
        if isinstance(rec, AptError):
            got.errors.append(InputError(rec.subject, rec.reason))
            got.failures[spec] = rec
        else:
            records[spec] = rec
    debs = apt.download(records.values(), notify=notify)
    for spec, rec in records.items():
        deb = debs[rec.name]
        if isinstance(deb, AptError):
            got.errors.append(InputError(deb.subject, deb.reason))
            got.failures[spec] = deb
            got.failed_download = True
        else:
            got.debs[spec] = deb
            got.sha256[spec] = rec.sha256
    return got


__all__ = ["Fetched", "fetch_names"]
