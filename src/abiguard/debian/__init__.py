"""Everything Debian and apt, in one place.

* :mod:`.control` — deb822 paragraphs, the relation parser (alternatives, version
  constraints, ``:any``/``:amd64`` qualifiers, ``[arch]`` restrictions), versions, Source.
* :mod:`.deb` — .deb packages read by abiguard itself: the ar layer, the control file,
  unpacking (nothing executed, nothing written outside the target directory).
* :mod:`.apt` — one apt client per apt configuration: candidates as apt chooses them, the
  one download path (cache keyed by name, version, architecture and SHA-256), the one
  library closure.
* :mod:`.sourceslist` — the machine's apt sources, located as apt locates them.
* :mod:`.suites` — derived configurations: another suite (``NAME/SUITE``), deb-src.
* :mod:`.srcpkg` — source packages (``apt-get source``) of the binary candidate's version.
"""
