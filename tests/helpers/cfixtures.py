"""Build tiny C libraries and programs with gcc at test time (deterministic fixtures)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def gcc(*args: str | Path, cwd: Path | None = None) -> None:
    cmd = ["gcc", *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stderr}")


def shared_lib(d: Path, soname: str, source: str, *, version_script: str | None = None,
               libs: tuple[str, ...] = (), extra: tuple[str, ...] = (),
               filename: str | None = None) -> Path:
    """gcc -shared -fPIC with -Wl,-soname (and a version script when given)."""
    d.mkdir(parents=True, exist_ok=True)
    stem = soname.split(".so")[0]
    src = write(d / f"{stem}.c", source)
    out = d / (filename or soname)
    args: list[str | Path] = ["-shared", "-fPIC", "-o", out, src, f"-Wl,-soname,{soname}"]
    if version_script is not None:
        vs = write(d / f"{stem}.map", version_script)
        args.append(f"-Wl,--version-script={vs}")
    gcc(*args, *extra, *libs)
    dev = d / f"{stem}.so"  # the link-time name, as a -dev package installs it
    if dev != out and not dev.is_symlink():
        dev.symlink_to(out.name)
    return out


def program(d: Path, name: str, source: str, *, link: tuple[str, ...] = (),
            extra: tuple[str, ...] = ()) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    src = write(d / f"{name}.c", source)
    out = d / name
    gcc("-o", out, src, *link, *extra)
    return out
