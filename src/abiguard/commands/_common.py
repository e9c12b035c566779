"""What the commands share: the scan options as data, the scan with its progress bar, and
where output, notes and errors go (the options themselves: :mod:`.options`)."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import TYPE_CHECKING, TextIO

from ..checks import failing, unchecked
from ..errors import UsageError
from ..missing import missing_line
from ..model import Audit
from ..parallel import default_jobs
from ..pipeline import Alongside, ScanOptions, scan_paths
from ..render.progress import Progress

if TYPE_CHECKING:  # (argparse's class is generic for the type checker only)
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
    """What ``register(sub, help)`` of a command adds its parser to."""


def emit(args: argparse.Namespace, text: str) -> None:
    """Write a rendered result to --output or stdout."""
    if getattr(args, "output", None):
        path = args.output
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            write_new(path, text)
        except OSError as exc:
            raise UsageError(f"cannot write --output {args.output}: {exc.strerror}") from None
        if not getattr(args, "quiet", False):
            note(args, f"wrote {args.output}")
        return
    sys.stdout.write(text)
    sys.stdout.flush()


def write_new(path: str, text: str) -> None:
    """Write ``text`` to ``path`` as a new file, as ld writes its output: a regular file
    already there is removed first, not truncated and written again. A reader holding the
    old file keeps it whole, and the write does not wait for the old contents to reach the
    disk (ext4 flushes a truncated file's data when it is written again: tens of ms for a
    scan's JSON of a few MB). A symlink, FIFO or device (``-o /dev/stdout``) is written
    through; a file that cannot be removed is truncated and written."""
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass  # (absent, or not removable: open() below says what is wrong, if anything)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def note(args: argparse.Namespace, message: str) -> None:
    """A note for the person at the terminal, on stderr, unless --quiet."""
    if not getattr(args, "quiet", False):
        sys.stderr.write(f"abiguard: {message}\n")


def use_color(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def show_progress(args: argparse.Namespace) -> bool:
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


class PhaseLines:
    """The stages' ``notify`` (abiguard.notify): a line on stderr per phase, unless --quiet.

    A scan of local files stays quiet; once a command waits on a download, that and every
    later phase (unpacking, resolving) gets its line, on a terminal or piped alike."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.quiet = bool(getattr(args, "quiet", False))
        self.loud = False

    def __call__(self, phase: str, message: str) -> None:
        if self.quiet:
            return
        if phase == "download":
            self.loud = True
        if self.loud:
            sys.stderr.write(f"abiguard: {message}\n")
            sys.stderr.flush()


def error_line(err: object) -> None:
    """An input error, one line on stderr (always shown: it changes the exit code)."""
    sys.stderr.write(f"abiguard: error: {err}\n")


def color(args: argparse.Namespace) -> bool:
    """Colour for the text on stdout: a terminal, no --output, no NO_COLOR."""
    return use_color() and not getattr(args, "output", None)


def scan_options(args: argparse.Namespace) -> ScanOptions:
    """The resolution options (:mod:`.options`, group "resolution") as the pipeline's."""
    jobs = getattr(args, "jobs", None)
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    return ScanOptions(jobs=jobs or default_jobs(), sysroot=args.sysroot, lib_paths=args.lib_path,
                       ld_library_path=[p for p in args.ld_library_path.split(":") if p],
                       policies=args.policy, with_deps=args.with_deps,
                       provider_debs=args.provider, needed=args.needed,
                       suite=args.suite)


def progress_bar(args: argparse.Namespace) -> Progress | None:
    """A progress bar on stderr when it is a terminal (and not --quiet)."""
    return Progress("resolving") if show_progress(args) else None


def run_scan(args: argparse.Namespace, alongside: Alongside | None = None) -> Audit:
    """Scan the inputs, with a progress bar on a terminal (``alongside``: see
    pipeline.Alongside)."""
    progress = progress_bar(args)
    try:
        return scan_paths(args.inputs, scan_options(args), progress=progress,
                          notify=PhaseLines(args), alongside=alongside)
    finally:
        if progress is not None:
            progress.close()


def exit_code(args: argparse.Namespace, audit: Audit, fail_on: list[str]) -> int:
    """0, or 1 when a --fail-on rule rejects an import, or 2 on input errors -- and when
    ``--fail-on unstable|private`` cannot be checked: imports from libraries that were not
    found could not be classified (the "libraries not found" line says which)."""
    if audit.errors:
        for e in audit.errors:
            error_line(e)
        return 2
    bad = failing(audit, fail_on)
    missing = unchecked(audit, fail_on, bad)
    if missing is not None:
        error_line(f"--fail-on {','.join(sorted(fail_on))} cannot be checked, "
                           f"{missing.unclassified} import(s) not classified: {missing.line()}")
        return 2
    if fail_on:
        line = missing_line(audit.consumers)
        if line:
            note(args, line)
    if bad:
        note(args, f"--fail-on: {len(bad)} import(s) rejected")
        return 1
    return 0
