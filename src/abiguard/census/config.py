"""What every census task of a run shares: :class:`Config`, and the test hooks it carries."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..debian.apt import AptConfig
from ..sources import FetchError, plugin_modules

# Test hooks (read by the coordinator, passed to the workers in the Config):
#   ABIGUARD_CENSUS_CRASH=NAME[:MARKER]  the task of package NAME calls os._exit(1) — only
#                                        while MARKER does not exist (it creates it first), so
#                                        "crash the first time" is NAME:/tmp/marker
#   ABIGUARD_CENSUS_SLEEP=SECONDS        every task sleeps first (kill/timeout tests)
CRASH_ENV = "ABIGUARD_CENSUS_CRASH"
SLEEP_ENV = "ABIGUARD_CENSUS_SLEEP"


class TaskTimeout(Exception):
    """Raised inside a task that ran over its time."""


@dataclass(frozen=True)
class Config:
    """Everything a task needs besides its package (the same for every task of a run)."""

    sysroot: str = "/"
    policies: tuple[str, ...] = ()
    timeout: float | None = None
    fetch: bool = True
    """May download packages (consumers and library dependencies) with apt-get."""
    cache: str | None = None
    """Where downloaded .debs are kept (default on each worker: abiguard's cache_dir())."""
    apt: AptConfig | None = None
    """The apt configuration packages are downloaded (and dependencies looked up) with;
    None: the worker's machine configuration."""
    workdir: str | None = None
    """A run-scoped directory shared by the workers of this machine; made per worker if
    missing (e.g. on a remote Dask worker)."""
    packages: dict[str, str] = field(default_factory=dict)
    """The package set: name -> .deb path or root directory (dependency lookup)."""
    watchdog: bool = False
    """Enforce the timeout inside the task (Dask); the local pool kills the worker instead."""
    crash: str | None = None
    sleep: float = 0.0
    elf_cache_limit: int = 20000
    libroots: str | None = None
    """A persistent directory of unpacked library packages (ELF files only), keyed by their
    SHA-256, shared by runs (``cache_dir()/libroots``); None: unpacked once per run."""
    scratch: str | None = None
    """A run-scoped directory where each package is unpacked for its scan (new_scratch():
    on /dev/shm when there is one); missing -> the work directory."""
    plugins: tuple[tuple[str, str | None], ...] = field(default_factory=plugin_modules)
    """Modules of input kinds registered from outside abiguard (abiguard.sources): a worker
    imports them before its first task, so that it knows their packages too."""

    @classmethod
    def from_env(cls, **kwargs: Any) -> Config:
        sleep = os.environ.get(SLEEP_ENV)
        return cls(crash=os.environ.get(CRASH_ENV) or None,
                   sleep=float(sleep) if sleep else 0.0, **kwargs)


__all__ = ["CRASH_ENV", "SLEEP_ENV", "Config", "FetchError", "TaskTimeout"]
