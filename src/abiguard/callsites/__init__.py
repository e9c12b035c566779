"""Where symbols are used: C sources (source.py), objects/archives (objects.py),
binaries (binary.py) and the link-line experiment (link.py)."""
