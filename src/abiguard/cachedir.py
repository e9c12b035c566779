"""abiguard's cache directory: ``$ABIGUARD_CACHE``, else ``$XDG_CACHE_HOME/abiguard`` or
``~/.cache/abiguard``.

What lives there is keyed so that it never changes an answer: downloaded .debs by name,
version, architecture and SHA-256 (verified before use), unpacked packages by the .deb's
SHA-256 (``unpacked/``, ``libroots/`` for the census), apt's answers by the identity of every
file apt read (``apt-answers/``), source trees by name and version, derived apt
configurations by suite."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("ABIGUARD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "abiguard")
    return Path(base)


__all__ = ["cache_dir"]
