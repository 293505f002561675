"""What an Office document (OOXML: .docx, .xlsx, .pptx and their macro forms) points to outside
itself: its hyperlinks, and the templates, frames and OLE objects it fetches when opened.

A lure document carries its phishing URL as a hyperlink, like a PDF's button. Remote template
injection (``attachedTemplate`` on a web server or an SMB share) and external OLE objects (the
``mhtml:`` links of CVE-2022-30190, "Follina") make Word fetch and run a payload with no macro
at all, so the macro scan never sees them.

The relationships are found by oletools (``oleobj.find_external_relationships``). It parses every
XML part of the package, and relationships only live in the ``.rels`` parts, so those alone
(at most ``MAX_RELS``, each under 1 MB, in a package whose declared size is bounded) are copied
into a small package of their own first: a 20 MB document or a zip bomb costs no more than a
memo. Never raises.
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass

__all__ = ["OfficeFacts", "inspect", "is_ooxml"]

MAX_BYTES = 20_000_000
#: A package whose members declare more than this is not read (the attachment analyser judges
#: it as a possible zip bomb).
MAX_EXPANDED = 200_000_000
MAX_RELS = 200
MAX_LINKS = 50
#: Relationship types that fetch something when the document opens (oletools names them).
LOADS = frozenset({"attachedTemplate", "frame", "oleObject", "subDocument"})
#: Targets of those that reach beyond the machine: web, MHTML (Follina), SMB shares (they also
#: leak the reader's NTLM hash). A template on the author's own disk (``file:///C:/...``) is not.
_REMOTE = ("http://", "https://", "mhtml:", "\\\\", "file://\\\\", "file:////")

# oletools logs each oddity of a malformed package.
logging.getLogger("oletools").setLevel(logging.ERROR)
logging.getLogger("oleobj").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class OfficeFacts:
    #: External hyperlinks, deduplicated, in the order found.
    links: tuple[str, ...] = ()
    #: ``(relationship type, target)`` of what the document fetches from the network on opening.
    remote: tuple[tuple[str, str], ...] = ()
    error: str = ""


def is_ooxml(data: bytes) -> bool:
    """A zip whose members name an Office package (read cheaply from the central directory)."""
    if data[:4] != b"PK\x03\x04":
        return False
    return b"[Content_Types].xml" in data[-65536:] or b"[Content_Types].xml" in data[:4096]


def inspect(data: bytes) -> OfficeFacts:
    if len(data) > MAX_BYTES:
        return OfficeFacts(error=f"larger than {MAX_BYTES // 1_000_000} MB, not opened")
    try:
        from oletools import ooxml
        from oletools.oleobj import find_external_relationships

        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if sum(i.file_size for i in infos) > MAX_EXPANDED:
                return OfficeFacts(error="declares more than 200 MB unpacked, not opened")
            rels = [
                i for i in infos if i.filename.lower().endswith(".rels") and i.file_size < 1 << 20
            ][:MAX_RELS]
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as small:
                small.writestr("[Content_Types].xml", zf.read("[Content_Types].xml")[: 1 << 20])
                for info in rels:
                    small.writestr(info.filename, zf.read(info))
        links: dict[str, None] = {}
        remote: dict[tuple[str, str], None] = {}
        parser = ooxml.XmlParser(io.BytesIO(buf.getvalue()))
        for kind, target in find_external_relationships(parser):
            target = str(target).strip()[:2000]
            if kind == "hyperlink" and len(links) < MAX_LINKS:
                links.setdefault(target)
            elif kind in LOADS and target.lower().startswith(_REMOTE):
                remote.setdefault((kind, target))
        return OfficeFacts(links=tuple(links), remote=tuple(list(remote)[:10]))
    except Exception as exc:  # broken zips and XML raise many kinds; oletools its own
        return OfficeFacts(error=f"unreadable Office package ({type(exc).__name__})")
