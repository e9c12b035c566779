"""Error types. Every error a user can cause names the file and says what is wrong in one line."""

from __future__ import annotations


class AbiguardError(Exception):
    """Base of all errors abiguard reports to the user (exit code 2, one line)."""


class InputFileError(AbiguardError):
    """An input file is unreadable, corrupt or not what it claims to be."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class ElfError(InputFileError):
    """A truncated, corrupt or unsupported ELF file (or ar archive member)."""


class UsageError(AbiguardError):
    """Bad command-line usage or a bad option value."""


class DataFileError(InputFileError):
    """A policy, remedies, baseline or feature file that does not match its schema."""
