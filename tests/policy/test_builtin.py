"""The built-in policy files as a scan reads them (abiguard.policy.builtin): from their
compiled form, the same policy as the files parsed."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from abiguard.policy import builtin
from abiguard.policy.builtin import COMPILED, Lines, builtin_policies, compiled_policies
from abiguard.policy.files import BUILTIN_DIR, GeneratedHistory, parse_policy

HISTORY = "debian-history.json"


def _names() -> list[str]:
    return sorted(n for n in os.listdir(BUILTIN_DIR) if n.endswith((".toml", ".json")))


def _parsed(name: str):
    text = (Path(BUILTIN_DIR) / name).read_text(encoding="utf-8")
    return parse_policy(text, f"built-in:{name}")


def test_the_compiled_form_is_that_of_the_files():
    """Changed a built-in file? Run scripts/compile-policies.py (until then a scan parses
    the changed file, and this test fails)."""
    compiled = json.loads(Path(COMPILED).read_text(encoding="utf-8"))["files"]
    assert sorted(compiled) == _names()  # (every one: none parsed on every scan)
    assert Path(COMPILED).read_text(encoding="utf-8") == compiled_policies()


def test_the_builtin_policy_is_the_files_parsed():
    got = {f.origin: f for f in builtin_policies()}
    assert sorted(got) == [f"built-in:{n}" for n in _names()]
    for name in _names():
        want = _parsed(name)
        have = got[f"built-in:{name}"]
        if isinstance(want.history, GeneratedHistory):
            assert isinstance(have.history, GeneratedHistory)
            assert have.history.matches == want.history.matches
            assert list(have.history) == list(want.history)  # (every family's entry)
            assert have.history[-1] == want.history[-1]
            have, want = (dataclasses.replace(f, history=()) for f in (have, want))
        assert have == want, name


def test_lines_are_the_lines_of_the_text():
    raw = b'head\n{"a":1},\n{"b":22},\n{"c":3}\n]}\n'
    lines = Lines(raw, [5, 14, 24, 32])
    assert list(lines) == ['{"a":1},', '{"b":22},', '{"c":3}']
    assert len(lines) == 3 and lines[-1] == '{"c":3}' and lines[1:] == ['{"b":22},', '{"c":3}']
    with pytest.raises(IndexError):
        lines[3]


def _compiled_with(tmp_path: Path, monkeypatch, name: str, change) -> None:
    data = json.loads(Path(COMPILED).read_text(encoding="utf-8"))
    change(data["files"][name])
    path = tmp_path / "compiled.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(builtin, "COMPILED", str(path))


def _by_origin() -> dict[str, object]:
    return {f.origin: f for f in builtin_policies()}


def test_the_compiled_form_is_what_is_read(tmp_path, monkeypatch):
    def rename(entry):
        entry.get("data", entry.get("head"))["name"] = "compiled"

    for name in ("upstream.toml", HISTORY):
        _compiled_with(tmp_path, monkeypatch, name, rename)
        got = _by_origin()
        assert got[f"built-in:{name}"].name == "compiled"
        assert got["built-in:xen.toml"].name == "xen"


def test_a_compiled_form_made_from_other_bytes_is_not_used(tmp_path, monkeypatch):
    """The compiled form of another file (changed since: its size or CRC-32 differs) is not
    taken: the file is parsed."""
    for name, want in (("upstream.toml", "upstream"), (HISTORY, "debian-history")):
        for key in ("size", "crc32"):
            def stale(entry, key=key):
                entry.get("data", entry.get("head"))["name"] = "stale"
                entry[key] += 1

            _compiled_with(tmp_path, monkeypatch, name, stale)
            assert _by_origin()[f"built-in:{name}"].name == want, (name, key)


def test_without_a_compiled_form_the_files_are_parsed(tmp_path, monkeypatch):
    reference = builtin_policies()
    toml = [f for f in reference if f.origin.endswith(".toml")]
    for content in (None, "not json", '{"files": []}',
                    '{"files": {"upstream.toml": 1, "debian-history.json": {"size": 1}}}'):
        path = tmp_path / "compiled.json"
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(content, encoding="utf-8")
        monkeypatch.setattr(builtin, "COMPILED", str(path))
        got = builtin_policies()
        assert [f.origin for f in got] == [f.origin for f in reference]
        assert [f for f in got if f.origin.endswith(".toml")] == toml, content
        history = next(f.history for f in got if f.origin.endswith(HISTORY))
        assert isinstance(history, GeneratedHistory) and len(history) > 1000
