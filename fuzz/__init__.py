"""Fuzzing harnesses for abiguard's parsers of untrusted input (issue #7).

* :mod:`fuzz.targets` -- one function per target that takes the bytes of one input and
  either parses it or raises the module's own error type (anything else is a bug), plus the
  invariants checked on the way (nothing unpacked outside its directory, temp dirs removed).
* :mod:`fuzz.mutators` -- structure-aware mutators (ELF fields, ar headers, tar entries of a
  .deb re-compressed, TOML/JSON trees) used by every engine.
* :mod:`fuzz.seeds` -- seed inputs: gcc-built and hand-built fixtures, real files of this
  machine and the Debian packages the tests cache (qemu-system-xen, Xen libraries).
* :mod:`fuzz.run` -- the campaign runner: ``python -m fuzz.run --target elf --inputs 100000``.

See docs/reliability.md.
"""
