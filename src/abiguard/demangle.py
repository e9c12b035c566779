"""C++ symbol names as people read them: the one demangler every renderer uses.

``demangle("_ZN13Configuration3SetEPKcRKi")`` gives ``Configuration::Set(char const*, int
const&)``. It calls ``__cxa_demangle`` of the system's libstdc++ through ctypes: the Itanium
C++ ABI demangler of GCC itself (the same libiberty code as binutils' ``c++filt``), exact by
construction and fast (a few microseconds a name, remembered). Only names with the Itanium
prefix ``_Z`` are demangled, as ``c++filt`` does without ``-t`` (``__cxa_demangle`` would also
turn a plain ``i`` into ``int``); a name it cannot demangle, or every name when libstdc++
cannot be loaded, is returned as it is.

The output equals ``c++filt -i`` (binutils, no implementation details: ``std::ostream`` rather
than ``std::basic_ostream<char, std::char_traits<char> >``); tests/test_demangle.py holds it
against c++filt on real names of this machine's libraries. Over every ``_Z`` name of
/usr/lib/x86_64-linux-gnu and /usr/bin on Debian bookworm (193,638) the two differ in 6, all
LLVM templates with ``decltype(std::declval<T>())``, which GCC 12's demangler prints so and
binutils 2.40's as ``(std::declval<T>)()``: two versions of the same libiberty code.

Renderers call :func:`display` (demangles unless turned off for the current rendering:
``with demangling(False): …``, the ``--no-demangle`` option). JSON and SARIF keep raw names.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from functools import lru_cache

_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("abiguard_demangle",
                                                                 default=True)


class _Demangler:
    """``__cxa_demangle`` and ``free`` loaded once (None when libstdc++ is not there)."""

    def __init__(self) -> None:
        import ctypes  # (with the first name demangled: JSON output never needs it)

        self.fn = None
        self.free = None
        try:
            stdcxx = ctypes.CDLL("libstdc++.so.6")
            libc = ctypes.CDLL("libc.so.6")
            fn = stdcxx["__cxa_demangle"]  # by item: in a class body __name is mangled
            free = libc["free"]
        except (OSError, AttributeError):
            return
        fn.restype = ctypes.c_void_p
        fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                       ctypes.POINTER(ctypes.c_int)]
        free.argtypes = [ctypes.c_void_p]
        free.restype = None
        self.fn, self.free = fn, free

    def __call__(self, name: str) -> str:
        if self.fn is None or self.free is None:
            return name
        try:
            raw = name.encode("utf-8")
        except UnicodeEncodeError:
            return name
        if b"\0" in raw:
            return name
        import ctypes

        status = ctypes.c_int(0)
        ptr = self.fn(raw, None, None, ctypes.byref(status))
        if not ptr:
            return name
        try:
            text = ctypes.string_at(ptr)
        finally:
            self.free(ptr)
        if status.value != 0:
            return name
        return text.decode("utf-8", "replace")


_demangler: _Demangler | None = None


def _get() -> _Demangler:
    global _demangler
    if _demangler is None:
        _demangler = _Demangler()
    return _demangler


def available() -> bool:
    """Whether names can be demangled here (libstdc++ could be loaded)."""
    return _get().fn is not None


def is_mangled(name: str) -> bool:
    """An Itanium C++ ABI name (``_Z…``)."""
    return name.startswith("_Z")


@lru_cache(maxsize=1 << 16)
def demangle(name: str) -> str:
    """The demangled form of a C++ name; any other name (C, or not demanglable) as it is."""
    if not is_mangled(name):
        return name
    return _get()(name)


def display(name: str) -> str:
    """A symbol name for people: demangled unless turned off for this rendering."""
    if not _ENABLED.get() or not name.startswith("_Z"):
        return name
    return demangle(name)


def enabled() -> bool:
    return _ENABLED.get()


@contextlib.contextmanager
def demangling(on: bool) -> Iterator[None]:
    """Turn demangling on or off for what is rendered inside the block."""
    token = _ENABLED.set(on)
    try:
        yield
    finally:
        _ENABLED.reset(token)


__all__ = ["available", "demangle", "demangling", "display", "enabled", "is_mangled"]
