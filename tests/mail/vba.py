"""A Word 97-2003 document with a VBA macro, written from the specifications (MS-CFB for the
compound file, MS-OVBA for the VBA project), so the macro scan is tested on a real document
without Office or a binary fixture in the repository."""

from __future__ import annotations

import struct

ENDOFCHAIN = 0xFFFFFFFE
FREESECT = 0xFFFFFFFF
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF


def compress(data: bytes) -> bytes:
    """An MS-OVBA compressed container holding ``data`` as literal tokens only (valid, if not
    small): a flag byte of zeros before every eight bytes, in chunks of up to 3,600 bytes."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), 3600):
        chunk = data[start : start + 3600]
        body = bytearray()
        for i in range(0, len(chunk), 8):
            body += b"\x00" + chunk[i : i + 8]
        header = (len(body) + 2 - 3) | (0b011 << 12) | 0x8000
        out += struct.pack("<H", header) + body
    return bytes(out)


def _record(rid: int, data: bytes) -> bytes:
    return struct.pack("<HI", rid, len(data)) + data


def _dir_stream(module: str) -> bytes:
    name = module.encode()
    uname = module.encode("utf-16-le")
    out = bytearray()
    out += _record(0x0001, struct.pack("<I", 1))  # SYSKIND: 32-bit Windows
    out += _record(0x0002, struct.pack("<I", 0x409))  # LCID
    out += _record(0x0014, struct.pack("<I", 0x409))  # LCIDINVOKE
    out += _record(0x0003, struct.pack("<H", 1252))  # CODEPAGE
    out += _record(0x0004, b"Project")  # NAME
    out += _record(0x0005, b"") + _record(0x0040, b"")  # DOCSTRING (+ unicode)
    out += _record(0x0006, b"") + _record(0x003D, b"")  # HELPFILEPATH 1 and 2
    out += _record(0x0007, struct.pack("<I", 0))  # HELPCONTEXT
    out += _record(0x0008, struct.pack("<I", 0))  # LIBFLAGS
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)  # VERSION: size says 4, holds 6 bytes
    out += _record(0x000C, b"") + _record(0x003C, b"")  # CONSTANTS (+ unicode)
    out += _record(0x000F, struct.pack("<H", 1))  # MODULES: one
    out += _record(0x0013, struct.pack("<H", 0xFFFF))  # COOKIE
    out += _record(0x0019, name) + _record(0x0047, uname)  # MODULENAME (+ unicode)
    out += _record(0x001A, name) + _record(0x0032, uname)  # STREAMNAME (+ unicode)
    out += _record(0x001C, b"") + _record(0x0048, b"")  # DOCSTRING (+ unicode)
    out += _record(0x0031, struct.pack("<I", 0))  # OFFSET of the source in its stream
    out += _record(0x001E, struct.pack("<I", 0))  # HELPCONTEXT
    out += _record(0x002C, struct.pack("<H", 0xFFFF))  # COOKIE
    out += _record(0x0021, b"")  # TYPE: procedural module
    out += _record(0x002B, b"")  # module terminator
    out += _record(0x0010, b"")  # dir terminator
    return bytes(out)


def _entry(
    name: str,
    kind: int,
    *,
    child: int = NOSTREAM,
    right: int = NOSTREAM,
    start: int = 0,
    size: int = 0,
) -> bytes:
    raw = name.encode("utf-16-le") + b"\x00\x00"
    return (
        raw.ljust(64, b"\x00")
        + struct.pack("<HBB", len(raw), kind, 1)
        + struct.pack("<III", NOSTREAM, right, child)
        + bytes(16 + 4 + 16)
        + struct.pack("<IQ", start, size)
    )


def compound_file(storage: str, streams: dict[str, bytes], root_streams: dict[str, bytes]) -> bytes:
    """A version-3 compound file: ``root_streams`` at the root, ``streams`` in one storage. Every
    stream is small, so all live in the mini stream."""
    mini = bytearray()
    minifat: list[int] = []
    placed: dict[str, tuple[int, int]] = {}
    for key, data in [*root_streams.items(), *((f"{storage}/{k}", v) for k, v in streams.items())]:
        first = len(mini) // 64
        sectors = max(1, -(-len(data) // 64))
        minifat += [first + i + 1 for i in range(sectors - 1)] + [ENDOFCHAIN]
        mini += data.ljust(sectors * 64, b"\x00")
        placed[key] = (first, len(data))
    # Entries: 0 root, 1 the storage, then the root's streams, then the storage's.
    names_root = list(root_streams)
    names_sub = list(streams)
    entries = []
    n_root = len(names_root)
    root_chain = [1] + [2 + i for i in range(n_root)]
    sub_first = 2 + n_root
    sub_chain = [sub_first + i for i in range(len(names_sub))]
    # Sectors: 0 FAT, then the directory, the mini FAT, the mini stream.
    n_entries = 2 + n_root + len(names_sub)
    dir_sectors = -(-n_entries // 4)
    minifat_sectors = -(-len(minifat) // 128)
    mini_sectors = -(-len(mini) // 512)
    first_dir, first_minifat = 1, 1 + dir_sectors
    first_mini = first_minifat + minifat_sectors
    entries.append(_entry("Root Entry", 5, child=1, start=first_mini, size=len(mini)))
    for pos, idx in enumerate(root_chain):
        right = root_chain[pos + 1] if pos + 1 < len(root_chain) else NOSTREAM
        if idx == 1:
            entries.append(_entry(storage, 1, child=sub_chain[0], right=right))
        else:
            start, size = placed[names_root[idx - 2]]
            entries.append(_entry(names_root[idx - 2], 2, right=right, start=start, size=size))
    for pos, name in enumerate(names_sub):
        right = sub_chain[pos + 1] if pos + 1 < len(sub_chain) else NOSTREAM
        start, size = placed[f"{storage}/{name}"]
        entries.append(_entry(name, 2, right=right, start=start, size=size))
    directory = b"".join(entries).ljust(dir_sectors * 512, b"\x00")
    fat = [FATSECT]
    for first, count in ((first_dir, dir_sectors), (first_minifat, minifat_sectors)):
        fat += [first + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
    fat += [first_mini + i + 1 for i in range(mini_sectors - 1)] + [ENDOFCHAIN]
    fat_sector = b"".join(struct.pack("<I", v) for v in fat).ljust(512, b"\xff")
    minifat_bytes = b"".join(struct.pack("<I", v) for v in minifat)
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIII", header, 0x2C, 1, first_dir, 0, 0x1000, first_minifat)
    struct.pack_into("<III", header, 0x40, minifat_sectors, ENDOFCHAIN, 0)
    header[0x4C:0x200] = struct.pack("<I", 0) + b"\xff" * (512 - 0x50)
    return (
        bytes(header)
        + fat_sector
        + directory
        + minifat_bytes.ljust(minifat_sectors * 512, b"\xff")
        + bytes(mini).ljust(mini_sectors * 512, b"\x00")
    )


def macro_document(source: str, module: str = "Module1") -> bytes:
    """A compound file holding a VBA project (at the root, as in ``vbaProject.bin``) with one
    module whose source is ``source``."""
    code = f'Attribute VB_Name = "{module}"\r\n{source}'.encode("latin-1")
    project = (
        f'ID="{{00000000-0000-0000-0000-000000000000}}"\r\nModule={module}\r\nName="Project"\r\n'
    )
    return compound_file(
        "VBA",
        {
            "dir": compress(_dir_stream(module)),
            "_VBA_PROJECT": b"\xcc\x61\xff\xff\x00\x00\x00",
            module: compress(code),
        },
        {"PROJECT": project.encode("latin-1")},
    )
