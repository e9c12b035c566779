"""abiguard scan: the JSON of a two-process scan is written partly by the child, as it
resolves (jsonform.Ahead), and is byte for byte the serial scan's."""

from __future__ import annotations

from pathlib import Path

from abiguard.cli import main
from abiguard.commands import _common
from abiguard.jsonform import Ahead
from abiguard.jsonform.write import _Writer
from helpers.ldso_oracle import system_programs


def test_json_of_two_processes_is_the_serial_json(always_fork, monkeypatch, tmp_path: Path):
    files = system_programs(60)
    used: list[bool] = []
    written = _Writer.written

    def counting(self: _Writer, *args):  # type: ignore[no-untyped-def]
        got = written(self, *args)
        used.append(got is not None)
        return got

    monkeypatch.setattr(_Writer, "written", counting)
    out = {}
    for jobs in ("1", "2"):
        used.clear()
        out[jobs] = tmp_path / f"jobs{jobs}.json"
        assert main(["scan", "-q", "--jobs", jobs, "--format", "json", "-o", str(out[jobs]),
                     *files]) in (0, 1)
        if jobs == "2":
            assert any(used), "nothing written ahead was used: nothing was tested"
        else:
            assert not any(used)
    assert out["1"].read_bytes() == out["2"].read_bytes()


def test_only_json_is_written_ahead(monkeypatch, tmp_path: Path):
    given = []
    run_scan = _common.run_scan

    def spy(args, alongside=None):  # type: ignore[no-untyped-def]
        given.append(alongside)
        return run_scan(args, alongside)

    monkeypatch.setattr(_common, "run_scan", spy)
    for fmt in ("json", "text", "markdown"):
        main(["scan", "-q", "--jobs", "1", "--format", fmt, "-o", str(tmp_path / fmt),
              "/usr/bin/ls"])
    assert isinstance(given[0], Ahead) and given[1:] == [None, None]
