"""The one parser of shared-library names (abiguard.soname): the examples it documents."""

from __future__ import annotations

import pytest

from abiguard.soname import family, name_number, numbers, split_soname


@pytest.mark.parametrize("text, want", [
    ("4.17.0", (4, 17, 0)), ("1_3", (1, 3)), ("2.40-system", (2, 40)), ("72.1", (72, 1)),
    ("", ()), ("x1", ()), ("3a.4", (3,)), ("0.0.0", (0, 0, 0)),
])
def test_numbers(text: str, want: tuple[int, ...]):
    assert numbers(text) == want


def test_split_soname_and_family():
    assert split_soname("libdevmapper.so.1.02.1") == ("libdevmapper", ("1", "02", "1"))
    assert split_soname("libnss3.so") == ("libnss3", ())
    assert split_soname("libfoo") is None
    assert family("libxenctrl.so.4.17") == "libxenctrl"
    assert family("/usr/lib/x86_64-linux-gnu/libc.so.6") == "libc"
    assert family("ld-linux-x86-64.so.2") == "ld-linux-x86-64"
    assert family(None) == "?"


def test_name_number():
    assert name_number("libLLVM-14") == ("libLLVM", (14,))
    assert name_number("libpython3.11") == ("libpython", (3, 11))
    assert name_number("libglib-2.0") == ("libglib", (2, 0))
    assert name_number("libnss3") == ("libnss", (3,))
    assert name_number("libfoo") is None
