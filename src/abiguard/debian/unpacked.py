"""Unpacked .deb packages kept by content: ``<cache>/unpacked/<SHA-256>/``.

What ``unpack_deb`` writes of a package (its ELF files, archives, symlinks and ld.so.conf
files, nothing else) depends only on the .deb's bytes, so the tree is kept under the
SHA-256 of the .deb, with the package's control fields (``info.json``), and used again by
every later command given the same file (a warm ``scan --with-deps NAME`` reads trees
instead of decompressing its packages again). A tree is made in a private directory next to
its place and renamed into place whole: a concurrent command never sees half a tree.

Trees are made and used only under the default unpacking limits (``abiguard.limits``): a
tree made under raised limits would let a later command skip its own; with other limits in
force a package is unpacked into a private temporary directory as before.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from .. import limits
from ..cachedir import cache_dir
from .apt import sha256_file
from .deb import DebInfo, read_deb_control, unpack_deb

_LIMITS = ("max_unpacked_bytes", "max_tar_members", "max_tar_header_bytes", "max_control_bytes")


def cacheable() -> bool:
    """Whether the limits in force are the defaults (see the module's docstring)."""
    now = limits.current()
    return all(getattr(now, n) == getattr(limits.DEFAULTS, n) for n in _LIMITS)


def root_of(sha256: str, base: Path | None = None) -> Path:
    return (base if base is not None else cache_dir() / "unpacked") / sha256


def kept(deb: str, sha256: str | None = None, base: Path | None = None
         ) -> tuple[str, DebInfo] | None:
    """(the unpacked tree, the control fields) of a .deb when it is kept (None: not yet,
    or not under these limits). ``sha256``: the file's, when known (checked by apt)."""
    if not cacheable():
        return None
    place = root_of(sha256 or sha256_file(deb), base)
    try:
        info = DebInfo(**json.loads((place / "info.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    return str(place / "root"), info


def unpacked(deb: str, sha256: str | None = None, base: Path | None = None
             ) -> tuple[str, DebInfo] | None:
    """The kept tree of a .deb, made now when missing: (tree, control fields). None when
    trees are not kept under the limits in force (the caller unpacks it itself). Errors
    of the package are InputFileErrors naming it, as ``unpack_deb`` raises them."""
    if not cacheable():
        return None
    sha = sha256 or sha256_file(deb)
    hit = kept(deb, sha, base)
    if hit is not None:
        return hit
    place = root_of(sha, base)
    place.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".unpack-", dir=place.parent)
    try:
        os.chmod(tmp, 0o755)
        info = read_deb_control(deb)
        unpack_deb(deb, os.path.join(tmp, "root"))
        Path(tmp, "info.json").write_text(json.dumps(asdict(info)), encoding="utf-8")
        try:
            os.rename(tmp, place)
        except OSError:
            if not (place / "info.json").is_file():
                raise
    except OSError:  # the cache cannot be written: the caller unpacks it itself
        if not (place / "info.json").is_file():
            return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return kept(deb, sha, base)


__all__ = ["cacheable", "kept", "root_of", "unpacked"]
