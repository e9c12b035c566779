"""What ``abiguard where`` finds: :class:`WhereResult` (JSON ``kind: "where"``) and the
remedy of each target symbol. Built by :func:`abiguard.callsites.where.find`; rendered by
:mod:`abiguard.render` (text, Markdown, JSON, SARIF)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import SCHEMA_VERSION, Audit, CallSite, InputError
from .features import FeatureImpact
from .source import Wrapper, inside_wrapper


@dataclass(frozen=True, slots=True)
class SymbolRemedy:
    """What the knowledge base says to do about one symbol (``kind`` unknown when nothing)."""

    symbol: str
    library: str | None = None
    kind: str = "unknown"
    rationale: str = ""
    replacements: tuple[str, ...] = ()
    """``symbol (library)`` of each replacement."""
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class WhereResult:
    """The result of ``abiguard where`` (JSON ``kind: "where"``)."""

    targets: tuple[str, ...] = ()
    callsites: tuple[CallSite, ...] = ()
    source_root: str | None = None
    wrappers: tuple[Wrapper, ...] = ()
    """The macros and inline functions through which targets are referenced."""
    impact: FeatureImpact | None = None
    """What remains without some sources (--without/--without-feature)."""
    remedies: tuple[SymbolRemedy, ...] = ()
    configuration: tuple[str, ...] = ()
    """The -D/-U/--config-header values the conditions were evaluated with."""
    files_scanned: int = 0
    files_parsed: int = 0
    parse_error_files: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = ()
    audit: Audit | None = None
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "where"

    def remedy(self, symbol: str) -> SymbolRemedy | None:
        for r in self.remedies:
            if r.symbol == symbol:
                return r
        return None

    def inside_wrapper(self, site: CallSite) -> bool:
        return inside_wrapper(site, self.wrappers)


__all__ = ["SymbolRemedy", "WhereResult"]
