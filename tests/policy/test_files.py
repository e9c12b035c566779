"""The built-in policy files as a scan reads them: the TOML files from their compiled JSON
data (abiguard.policy.files.COMPILED), the same policy as the TOML parsed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from abiguard.policy import files
from abiguard.policy.files import (
    BUILTIN_DIR,
    COMPILED,
    builtin_policies,
    compiled_policies,
    parse_policy,
)


def _toml_names() -> list[str]:
    return sorted(n for n in os.listdir(BUILTIN_DIR) if n.endswith(".toml"))


def test_the_compiled_data_is_that_of_the_toml_files():
    """Changed a built-in TOML file? Run scripts/compile-policies.py (until then a scan
    parses the changed file, and this test fails)."""
    assert _toml_names()
    assert Path(COMPILED).read_text(encoding="utf-8") == compiled_policies()


def test_the_builtin_policy_is_the_toml_parsed():
    got = {f.origin: f for f in builtin_policies()}
    for name in _toml_names():
        text = (Path(BUILTIN_DIR) / name).read_text(encoding="utf-8")
        origin = f"built-in:{name}"
        assert got[origin] == parse_policy(text, origin)
    assert sorted(got) == sorted(f"built-in:{n}" for n in os.listdir(BUILTIN_DIR)
                                 if n.endswith((".toml", ".json")))


def _compiled_with(tmp_path: Path, monkeypatch, change) -> None:
    data = json.loads(Path(COMPILED).read_text(encoding="utf-8"))
    change(data["files"]["upstream.toml"])
    path = tmp_path / "compiled.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(files, "COMPILED", str(path))


def test_the_compiled_data_is_what_is_read(tmp_path, monkeypatch):
    def rename(entry):
        entry["data"]["name"] = "compiled"

    _compiled_with(tmp_path, monkeypatch, rename)
    names = {f.origin: f.name for f in builtin_policies()}
    assert names["built-in:upstream.toml"] == "compiled"
    assert names["built-in:xen.toml"] == "xen"


def test_data_compiled_from_another_text_is_not_used(tmp_path, monkeypatch):
    """The compiled data of another text (the TOML file changed since: its size or CRC-32
    differs) is not taken: the file is parsed."""
    for key in ("size", "crc32"):
        def stale(entry, key=key):
            entry["data"]["name"] = "stale"
            entry[key] += 1

        _compiled_with(tmp_path, monkeypatch, stale)
        names = {f.origin: f.name for f in builtin_policies()}
        assert names["built-in:upstream.toml"] == "upstream", key


def test_without_compiled_data_the_toml_is_parsed(tmp_path, monkeypatch):
    reference = builtin_policies()
    for content in (None, "not json", '{"files": []}', '{"files": {"upstream.toml": 1}}'):
        path = tmp_path / "compiled.json"
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(content, encoding="utf-8")
        monkeypatch.setattr(files, "COMPILED", str(path))
        got = builtin_policies()
        assert [f.origin for f in got] == [f.origin for f in reference]
        assert [f for f in got if f.origin.endswith(".toml")] == \
            [f for f in reference if f.origin.endswith(".toml")], content
