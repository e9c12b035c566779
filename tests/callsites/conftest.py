"""Fixtures of the call-site tests: the small C project (helpers.xcproject: libxc, objects,
an archive and a program) built once per session in one directory, which the tests of
objects, binaries and link lines share (helpers.xcproject.build_project caches each variant
by that directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.xcproject import build_project


@pytest.fixture(scope="session")
def xc_base(tmp_path_factory) -> Path:
    """The session's directory of xc project builds (one subdirectory per compiler and
    variant)."""
    return tmp_path_factory.getbasetemp() / "xc"


@pytest.fixture(scope="session")
def project(xc_base: Path) -> Path:
    """The xc project built with gcc, default variant (lazy PLT, PIE). (test_source.py's
    module has a C source tree of its own under this name.)"""
    return build_project(xc_base)
