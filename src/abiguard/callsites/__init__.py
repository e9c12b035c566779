"""Where symbols are used: C sources (source.py), objects/archives (objects.py),
binaries (binary.py) and the link-line experiment (link.py)."""

DEFAULT_TIMEOUT = 600.0
"""Seconds a link of ``abiguard link`` may take by default (--timeout)."""
