"""Helpers shared by the test modules (and by benchmarks/, fuzz/ and scripts/): gcc-built
fixtures (cfixtures), hand-built ELF images (elfbuild), .deb files and the toy distribution
(debbuild, toycensus), ld.so as the bindings oracle (ldso_oracle), DWARF references
(dwarfref), the cross-compiled call-site project (xcproject), real Debian packages
(realdata), the two-suite apt machine (aptmachine), a toy input kind (toykind) and the
repository's paths (paths).

pytest puts tests/ on sys.path (pyproject ``[tool.pytest.ini_options] pythonpath``), so test
modules import them as ``from helpers.cfixtures import gcc``; scripts outside the tests put
tests/ on sys.path first.
"""
