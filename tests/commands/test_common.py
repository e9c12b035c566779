"""What the commands share: writing --output."""

from __future__ import annotations

import os
from pathlib import Path

from abiguard.cli import main
from abiguard.commands._common import write_new


def test_an_output_file_is_replaced_not_rewritten(tmp_path: Path):
    out = tmp_path / "scan.json"
    out.write_text("old contents\n")
    before = out.stat().st_ino
    with open(out) as held:  # a reader of the old file keeps it whole
        write_new(str(out), "new\n")
        assert held.read() == "old contents\n"
    assert out.read_text() == "new\n"
    assert out.stat().st_ino != before


def test_a_symlink_output_is_written_through(tmp_path: Path):
    target = tmp_path / "target.json"
    target.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_new(str(link), "new\n")
    assert link.is_symlink()
    assert target.read_text() == "new\n"


def test_a_fifo_output_is_written_through(tmp_path: Path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_new(str(fifo), "through\n")
        assert os.read(reader, 100) == b"through\n"
    finally:
        os.close(reader)
    assert fifo.is_fifo()


def test_scan_output_replaces_an_existing_file(tmp_path: Path, capsys):
    out = tmp_path / "o.json"
    out.write_text("x" * 100000)
    os.chmod(out, 0o600)
    assert main(["scan", "-q", "--format", "json", "-o", str(out), "/bin/true"]) in (0, 1)
    assert out.read_text().lstrip().startswith("{")


def test_an_output_in_a_missing_directory_is_an_error_naming_it(tmp_path: Path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["scan", "-q", "-o", str(blocker / "o.json"), "/bin/true"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write --output {blocker / 'o.json'}" in err and "Traceback" not in err
