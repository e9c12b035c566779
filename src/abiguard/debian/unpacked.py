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

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from .. import limits
from ..cachedir import cache_dir
from .deb import DebInfo, open_regular, read_deb_control, unpack_deb

_LIMITS = ("max_unpacked_bytes", "max_tar_members", "max_tar_header_bytes", "max_control_bytes")


def cacheable() -> bool:
    """Whether the limits in force are the defaults (see the module's docstring)."""
    now = limits.current()
    return all(getattr(now, n) == getattr(limits.DEFAULTS, n) for n in _LIMITS)


def _sha256(deb: str) -> str | None:
    """The SHA-256 of a regular file (None: not one, or unreadable: the caller's own
    reading reports it; a fifo is never waited on)."""
    try:
        with open_regular(deb) as fh:
            h = hashlib.sha256()
            while chunk := fh.read(1 << 20):
                h.update(chunk)
            return h.hexdigest()
    except OSError:
        return None


def root_of(sha256: str, base: Path | None = None) -> Path:
    return (base if base is not None else cache_dir() / "unpacked") / sha256


def kept(deb: str, sha256: str | None = None, base: Path | None = None
         ) -> tuple[str, DebInfo] | None:
    """(the unpacked tree, the control fields) of a .deb when it is kept (None: not yet,
    or not under these limits). ``sha256``: the file's, when known (checked by apt)."""
    if not cacheable():
        return None
    sha = sha256 or _sha256(deb)
    if sha is None:
        return None
    place = root_of(sha, base)
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
    sha = sha256 or _sha256(deb)
    if sha is None:
        return None
    hit = kept(deb, sha, base)
    if hit is not None:
        return hit
    place = root_of(sha, base)
    place.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".unpack-", dir=place.parent)
    try:
        os.chmod(tmp, 0o700)  # (private, like a temporary directory)
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
