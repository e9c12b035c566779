"""Libraries a scan did not find, and the one line that says so with the remedy.

A consumer whose needed library was not found has unresolved imports: ld.so would refuse to
start it, and what it imports from that library was not checked. The resolver attributes
such imports to the missing library where it can (see ``Resolver._unresolved``) and gives
them the class the policy gives the library's name (``Binding.is_presumed_problem``); the
rest stay unclassified. Every command that reports on consumers says so in one line, the
same everywhere (scan, plan, where, diff, gate, impact), built here from the model alone:

    libraries not found: libxenctrl.so.4.17, libxenstore.so.4 (2) for 1 consumer: 34
    import(s) unresolved, 16 classified unstable/private from the library's name only, 0
    not classified; give the libraries with --with-deps (package inputs), --sysroot DIR or
    --lib-path DIR

(one line in the output). ``scan`` puts it in the audit's ``notes`` (JSON), the text and
Markdown renderers print it prominently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .model import Consumer, Stability

PREFIX = "libraries not found: "
REMEDY = ("give the libraries with --with-deps (package inputs), --sysroot DIR or "
          "--lib-path DIR")


@dataclass(frozen=True, slots=True)
class MissingLibraries:
    """What the consumers of a result lack."""

    libraries: tuple[str, ...]
    """Needed names not found, in first-seen order."""
    consumers: tuple[str, ...]
    """The consumers (display names) with at least one library not found."""
    unresolved: int
    """Unresolved imports of those consumers (weak ones only when attributed to a missing
    library: a weak import nothing defines is normal)."""
    presumed: int
    """Of them, classified unstable/private from the missing library's name."""
    unclassified: int
    """Of them, neither attributed to a library of known class nor classified."""

    def line(self) -> str:
        shown = ", ".join(self.libraries[:4]) + (", …" if len(self.libraries) > 4 else "")
        n = len(self.consumers)
        return (f"{PREFIX}{shown} ({len(self.libraries)}) for {n} consumer"
                f"{'s' if n != 1 else ''}: {self.unresolved} import(s) unresolved, "
                f"{self.presumed} classified unstable/private from the library's name only, "
                f"{self.unclassified} not classified; {REMEDY}")


def unclassified(c: Consumer) -> int:
    """Non-weak unresolved imports of a consumer with libraries not found that have no
    class: not attributed to a missing library, or attributed to one of unknown class."""
    if not c.missing_libraries:
        return 0
    return sum(1 for b in c.bindings if b.status == "unresolved" and not b.weak
               and b.stability == Stability.UNKNOWN)


def missing_libraries(consumers: Iterable[Consumer]) -> MissingLibraries | None:
    """The libraries not found by any of the consumers (None: everything was found)."""
    libs: dict[str, None] = {}
    names: list[str] = []
    unresolved = presumed = unknown = 0
    for c in consumers:
        missing = c.missing_libraries
        if not missing:
            continue
        libs.update(dict.fromkeys(missing))
        names.append(c.display_name)
        unresolved += sum(1 for b in c.bindings if b.status == "unresolved"
                          and (not b.weak or b.provider))
        presumed += len(c.presumed)
        unknown += unclassified(c)
    if not names:
        return None
    return MissingLibraries(tuple(libs), tuple(names), unresolved, presumed, unknown)


def missing_line(consumers: Iterable[Consumer]) -> str | None:
    m = missing_libraries(consumers)
    return m.line() if m else None


def is_missing_line(note: str) -> bool:
    return note.startswith(PREFIX)


__all__ = ["PREFIX", "REMEDY", "MissingLibraries", "is_missing_line", "missing_libraries",
           "missing_line", "unclassified"]
