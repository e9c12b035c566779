"""Notes and debug links: how a file names its separate debug file.

``build_id``: the GNU build-id note (NT_GNU_BUILD_ID in an SHT_NOTE section), as the hex
string of ``DIR/.build-id/xx/yyyy.debug``; ``debuglink``: the ``.gnu_debuglink`` section
(file name and CRC-32 of the debug file). Both bounds-checked; a note that runs past its
section is an ElfError naming the file.
"""

from __future__ import annotations

from .constants import SHT_NOTE
from .image import ElfImage

NT_GNU_BUILD_ID = 3


def notes(f: ElfImage) -> list[tuple[bytes, int, bytes]]:
    """(name, type, descriptor) of every note of the file's SHT_NOTE sections."""
    out: list[tuple[bytes, int, bytes]] = []
    u32 = f.layout.u32
    for sec in f.sections:
        if sec.type != SHT_NOTE:
            continue
        raw = f.section_data(sec)
        align = 8 if sec.addralign == 8 else 4
        pos = 0
        while pos + 12 <= len(raw):
            namesz = u32.unpack_from(raw, pos)[0]
            descsz = u32.unpack_from(raw, pos + 4)[0]
            ntype = u32.unpack_from(raw, pos + 8)[0]
            name_at = pos + 12
            desc_at = name_at + namesz + -(name_at + namesz) % align
            end = desc_at + descsz
            if end > len(raw):
                raise f.error(f"truncated: a note of section {sec.name} (offset {pos:#x}) runs "
                              f"past the end of the section")
            out.append((bytes(raw[name_at:name_at + namesz]).rstrip(b"\0"), ntype,
                        bytes(raw[desc_at:end])))
            pos = end + -end % align
    return out


def build_id(f: ElfImage) -> str | None:
    """The GNU build-id as a lowercase hex string (None when the file has none)."""
    for name, ntype, desc in notes(f):
        if name == b"GNU" and ntype == NT_GNU_BUILD_ID and desc:
            return desc.hex()
    return None


def debuglink(f: ElfImage) -> tuple[str, int] | None:
    """(file name, CRC-32) of ``.gnu_debuglink`` (CRC -1 when the section holds no CRC);
    None when there is no such section or it names no file."""
    sec = f.section_by_name(".gnu_debuglink")
    if sec is None:
        return None
    raw = bytes(f.section_data(sec))
    end = raw.find(b"\0")
    if end <= 0:
        return None
    name = raw[:end].decode("utf-8", "replace")
    at = (end + 4) & ~3
    if at + 4 > len(raw):
        return name, -1
    crc: int = f.layout.u32.unpack_from(raw, at)[0]
    return name, crc
