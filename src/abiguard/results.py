"""Saved results read back, or scanned when they are not: the one place commands load them.

``diff``, ``gate``, ``impact``, ``report``, ``propose`` and ``where --symbols-from`` take a
saved abiguard result (``scan``/``plan``/``where --format json``, schema 1 or 2) where they
take scan inputs. :func:`is_json_result` tells them apart (a file whose first non-blank
character is ``{``); :func:`load_result` reads an Audit (a usage error when it cannot),
:func:`read_result` an Audit or a Plan (an input-file error), :func:`audit_from_text` and
:func:`where_targets` the text of one; :func:`load_or_scan` and :func:`load_inputs` read or
scan one side of a comparison.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace

from .errors import InputFileError, UsageError
from .jsonform import READS, audit_from_json, plan_from_json
from .model import Audit, Plan, SchemaError
from .notify import Notify, silent
from .pipeline import ScanOptions, merge_audits, scan_paths, with_missing_line


def is_json_result(path: str) -> bool:
    """A file whose first non-blank character is '{' (a saved abiguard result)."""
    if not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return head.lstrip()[:1] == b"{"


def load_result(path: str) -> Audit:
    """The Audit of a saved scan, plan or where result; a UsageError says why not."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})"
                         ) from None
    try:
        return audit_from_json(text, path)
    except SchemaError as exc:
        raise UsageError(str(exc)) from None


def read_result(path: str) -> Audit | Plan:
    """An Audit or a Plan from a JSON file; an InputFileError says why not."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"cannot read ({getattr(exc, 'strerror', None) or exc})"
                             ) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise InputFileError(path, "not valid JSON (arrays or objects nested too deeply)"
                             ) from None
    try:
        if isinstance(raw, dict) and raw.get("kind") == "plan":
            return plan_from_json(text, path)
        return audit_from_json(text, path)
    except SchemaError as exc:
        raise InputFileError(path, str(exc).removeprefix(f"{path}: ")) from None


def audit_from_text(text: str, origin: str) -> Audit:
    """The Audit of a saved result's text (scan, plan or where; schema 1 or 2); SchemaError
    with the place when it is not one."""
    return audit_from_json(text, origin)


def where_targets(text: str) -> list[str] | None:
    """The targets of a saved ``where`` result that embeds no audit (else None)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict) and data.get("kind") == "where" and not data.get("audit") \
            and data.get("schema") in READS and isinstance(data.get("targets"), list):
        return [t for t in data["targets"] if isinstance(t, str)]
    return None


def load_or_scan(specs: Sequence[str], options: ScanOptions, *, suite: str | None = None,
                 providers: Sequence[str] = (), notify: Notify = silent) -> Audit:
    """One side of a comparison: a saved JSON result, or the scan of the inputs (packages of
    another Debian suite are handled by the pipeline: ``NAME/SUITE`` or ``suite``)."""
    if len(specs) == 1 and is_json_result(specs[0]):
        return load_result(specs[0])
    for s in specs:
        if is_json_result(s):
            raise UsageError(f"{s}: a saved result cannot be mixed with other inputs")
    return scan_paths(list(specs), replace(options, suite=suite or options.suite,
                                           provider_debs=[*options.provider_debs, *providers]),
                      notify=notify)


def load_inputs(specs: Sequence[str], options: ScanOptions) -> Audit:
    """Saved results read back and everything else scanned (NAME/SUITE fetched from that
    Debian suite), merged into one audit (what ``gate`` checks)."""
    saved = [s for s in specs if is_json_result(s)]
    rest = [s for s in specs if not is_json_result(s)]
    audits = [load_result(s) for s in saved]
    if rest:
        audits.append(load_or_scan(rest, options))
    audit = merge_audits(audits)
    # (a saved result of an older abiguard has no "libraries not found" note: made here)
    return replace(audit, inputs=tuple(specs),
                   notes=with_missing_line(audit.notes, audit.consumers))


__all__ = ["audit_from_text", "is_json_result", "load_inputs", "load_or_scan", "load_result",
           "read_result", "where_targets"]
