"""The state fields are typed: a misspelled status is a type error (mypy, the checker
``make test`` runs on src/), and the words of each type are those the documented JSON schema
allows (docs/schema-2.json) and the JSON reader accepts."""

from __future__ import annotations

import json
import os
import typing
from pathlib import Path

import pytest
from mypy import api

from abiguard.model import CallSiteMethod, RemedyKind, VerificationStatus
from helpers.paths import DOCS, SRC

SNIPPET = """\
from abiguard.model import Binding, CallSite, SymbolRef, Verification
from abiguard.compare.diff import SymbolDelta

Binding(SymbolRef("f"), status="unresolved")
Binding(SymbolRef("f"), status="unresolvd")  # line 5
CallSite("f", "source", "a.c", kind="call")
CallSite("f", "sources", "a.c", kind="call")  # line 7
Verification("g", "libx.so.1", "not-scaned")  # line 8
SymbolDelta("f", "renamed")  # line 9
"""


def test_mypy_rejects_misspelled_states(tmp_path: Path) -> None:
    (tmp_path / "snippet.py").write_text(SNIPPET)
    env_before = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = str(SRC)  # this checkout's abiguard, not an installed one
    try:
        out, err, rc = api.run(["--strict", "--follow-imports=silent",
                                "--cache-dir", str(tmp_path / "cache"),
                                str(tmp_path / "snippet.py")])
    finally:
        if env_before is None:
            del os.environ["MYPYPATH"]
        else:
            os.environ["MYPYPATH"] = env_before
    assert rc == 1, (out, err)
    lines = sorted({int(line.split(":")[1]) for line in out.splitlines()
                    if ": error:" in line})
    assert lines == [5, 7, 8, 9], out
    assert "Literal['bound', 'unresolved', 'declared']" in out


def _enum(definition: str, prop: str) -> list[str]:
    schema = json.loads((DOCS / "schema-2.json").read_text())
    return list(schema["$defs"][definition]["properties"][prop]["enum"])


@pytest.mark.parametrize("alias, definition, prop", [
    (RemedyKind, "PlanItem", "kind"),
    (VerificationStatus, "Verification", "status"),
    (CallSiteMethod, "CallSite", "method"),
])
def test_state_words_are_the_schemas(alias: object, definition: str, prop: str) -> None:
    assert list(typing.get_args(alias)) == _enum(definition, prop)
