"""propose's unifdef: the retired file must preprocess exactly like the original for every
value of the version macro from the minimum up (gcc -E is the oracle), and differently
below it (so that the test can fail)."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from abiguard.propose.unifdef import Bound, decide, simplify, unifdef

SOURCE = r"""
#ifndef GUARD_H
#define GUARD_H
#define KEEP 1
#if V < 40500
old_a();
#elif V < 40700
mid_a();
#else
new_a();
#endif
#ifdef V
has_v();
#else
no_v();
#endif
#ifndef V
no_v2();
#endif
#if defined(FOO) && V >= 40500
foo_new();
#endif
#if V >= 40500 || defined(BAR)
always();
#endif
#if V < 40500 || defined(BAR)
bar_only();
#endif
#if V == 40500
eq();
#elif V == 40800
eq48();
#elif defined(FOO)
foo();
#else
other();
#endif
#if V < 40600
#  if defined(FOO)
nested_dead();
#  else
nested_dead2();
#  endif
#else
#  if V < 41000
nested_mid();
#  else
nested_new();
#  endif
#endif
#if 40600 <= V
rev();
#endif
#if V * 2 > 81000
arith();
#endif
#if (V >= 40500)
paren();
#endif
/* #if V < 40500 inside a comment
#endif */
#if V < 40500 \
    && defined(FOO)
continued();
#endif
#if defined(BAR)
#elif V < 40000
ancient();
#else
bar_else();
#endif
  #  if V > 40600
indented();
  #  endif
#endif
"""

MINIMUM = 40600
VALUES = [40600, 40601, 40699, 40700, 40701, 40799, 40800, 40801, 40999, 41000, 50000]


def _cpp(path: Path, value: int, defines: tuple[str, ...]) -> list[str]:
    cmd = ["gcc", "-E", "-P", "-x", "c", f"-DV={value}", *(f"-D{d}" for d in defines),
           str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [" ".join(line.split()) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path, bytes]:
    d = tmp_path_factory.mktemp("unifdef")
    original = d / "original.h"
    original.write_text(SOURCE)
    result = unifdef(SOURCE.encode(), Bound("V", MINIMUM))
    assert result.balanced
    retired = d / "retired.h"
    retired.write_bytes(result.text)
    return original, retired, result.text


@pytest.mark.parametrize("defines", [(), ("FOO",), ("BAR",), ("FOO", "BAR")])
def test_same_preprocessed_output_from_the_minimum_up(files, defines):
    original, retired, _ = files
    for value in VALUES:
        assert _cpp(retired, value, defines) == _cpp(original, value, defines), value


def test_below_the_minimum_the_output_differs(files):
    original, retired, _ = files
    differs = [v for v, d in itertools.product([40000, 40500, 40599], [(), ("FOO",)])
               if _cpp(retired, v, d) != _cpp(original, v, d)]
    assert differs  # the retired branches are really gone


def test_what_is_kept_and_what_goes(files):
    _, _, text = files
    src = text.decode()
    for gone in ("old_a", "no_v", "no_v2", "eq();", "nested_dead", "#if V < 40600",
                 "#ifdef V", "#ifndef V", "ancient", "#if 40600 <= V", "(V >= 40500)",
                 "continued"):
        assert gone not in src, gone
    for kept in ("mid_a", "new_a", "#if V < 40700", "has_v", "foo_new", "always", "bar_only",
                 "#if defined(BAR)", "#if V == 40800", "nested_mid", "#  if V < 41000",
                 "rev();", "#if V * 2 > 81000", "arith", "paren", "inside a comment",
                 "bar_else", "#  if V > 40600", "#ifndef GUARD_H"):
        assert kept in src, kept
    # a decided term of a condition goes, the rest stays (as unifdef does)
    assert "#if defined(FOO)\nfoo_new" in src
    assert "#if defined(BAR)\nbar_only" in src
    # the chain's first surviving #elif opens it; a decided-true #elif becomes #else
    assert "#if V < 40700\nmid_a();\n#else\nnew_a();" in src


@pytest.mark.parametrize("expr,expected", [
    ("V < 40500", (False, None)), ("V >= 40500", (True, None)), ("V < 41000", (None, None)),
    ("V == 40500", (False, None)), ("V != 40500", (True, None)), ("V != 40700", (None, None)),
    ("defined(V)", (True, None)), ("!defined(V)", (False, None)),
    ("V + 1 > 40600", (None, None)), ("V >= 40500 && defined(X)", (None, "defined(X)")),
    ("V < 40500 || defined(X)", (None, "defined(X)")), ("OTHER < 3", (None, None)),
    ("V >= 40500 && X || Y", (None, None)),
])
def test_decide_and_simplify(expr, expected):
    assert simplify(expr, Bound("V", MINIMUM)) == expected


def test_macro_compared_with_an_expression_is_left_alone():
    assert decide("V < 40500 + 100", Bound("V", MINIMUM)) is None
    assert decide("40500 * 2 < V", Bound("V", MINIMUM)) is None


def test_unbalanced_file_is_left_unchanged():
    src = b"#if V < 40500\nold();\n"
    r = unifdef(src, Bound("V", MINIMUM))
    assert not r.balanced and r.text == src
    assert not unifdef(b"#endif\n", Bound("V", MINIMUM)).balanced


def test_file_without_the_macro_is_unchanged():
    src = b"#if FOO\na();\n#else\nb();\n#endif\n"
    assert unifdef(src, Bound("V", MINIMUM)).text == src


PROBE = """#include <stdio.h>
#if V == 40600
int probe = 1;
#elif V == 40500
int probe = 2;
#else
#error invalid V
#endif
"""


def test_retire_refuses_to_make_an_error_unconditional(tmp_path):
    from abiguard.propose.patches import Tree, retire

    (tmp_path / "probe.c").write_text(PROBE)
    (tmp_path / "other.h").write_text("#if V < 40500\nold();\n#endif\nnew();\n")
    ok = retire(Tree(tmp_path), Bound("V", 40600))
    assert sorted(ok.edits) == ["other.h", "probe.c"] and not ok.refused
    assert "#error invalid V" in ok.edits["probe.c"].decode()
    assert ok.largest == 40600
    # from 4.7 up every probe branch is dead: the #error would always fire
    too_high = retire(Tree(tmp_path), Bound("V", 40700))
    assert sorted(too_high.edits) == ["other.h"]
    assert too_high.refused == (("probe.c", ("retiring would make '#error invalid V' "
                                            "unconditional")),)
