"""What a PDF attachment holds that a mail filter must see: its links, whether it is locked, and
the pictures on its first pages (for QR codes).

A PDF lure is a page with one big button: the phishing URL sits in a link annotation, not in
the mail, so without this it escapes the link checks and the indicator index. A
password-protected PDF (the password in the mail's text) is locked against every scanner, as an
encrypted archive is.

Read with pypdf: pure Python, so a hostile file can raise or be slow but cannot corrupt the
process, and the gateway's scanning threads need no lock (PDFium, the faster renderer, is not
thread-safe). Pictures drawn as vector paths are not rendered, so a QR code drawn that way is
not read. Every function is bounded (``MAX_BYTES``, ``MAX_PAGES``, ``MAX_LINKS``,
``MAX_IMAGES``, ``MAX_PIXELS``) and never raises.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_BYTES", "PdfFacts", "images", "inspect", "is_pdf"]

#: Larger PDFs are not opened (a lure is a page or two).
MAX_BYTES = 20_000_000
#: Pages whose links are read; pictures are looked for on the first ``IMAGE_PAGES``.
MAX_PAGES = 20
IMAGE_PAGES = 3
MAX_LINKS = 50
MAX_IMAGES = 10
#: A picture larger than this (pixels) is not decoded: a decompression bomb must not load.
MAX_PIXELS = 25_000_000

# pypdf logs a warning for every oddity of a malformed file; a gateway scanning hostile PDFs
# all day would fill its log with them.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class PdfFacts:
    #: Needs a password to open (an empty user password does not count).
    encrypted: bool = False
    #: URIs of the link annotations (``https://...``, ``mailto:``), in page order, deduplicated.
    links: tuple[str, ...] = ()
    pages: int = 0
    #: Pictures on the first ``IMAGE_PAGES`` pages (``images`` has nothing to read when 0).
    pictures: int = 0
    #: Why the file could not be read ("" when it could).
    error: str = ""


def is_pdf(data: bytes) -> bool:
    # Readers accept the header anywhere in the first kilobyte, and so do attackers.
    return b"%PDF-" in data[:1024]


def _open(data: bytes) -> Any:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        return None
    return reader


def inspect(data: bytes) -> PdfFacts:
    """The facts of one PDF; a file that cannot be read gets ``error`` set, never an exception."""
    if len(data) > MAX_BYTES:
        return PdfFacts(error=f"larger than {MAX_BYTES // 1_000_000} MB, not opened")
    try:
        reader = _open(data)
        if reader is None:
            return PdfFacts(encrypted=True)
        pages = reader.pages
        links: dict[str, None] = {}
        for page in pages[:MAX_PAGES]:
            annots = page.get("/Annots")
            annots = annots.get_object() if annots is not None else []
            for ref in list(annots)[:500]:
                uri = _uri(ref)
                if uri:
                    links.setdefault(uri[:2000])
            if len(links) >= MAX_LINKS:
                break
        pictures = sum(len(_pictures(page)) for page in pages[:IMAGE_PAGES])
        return PdfFacts(links=tuple(list(links)[:MAX_LINKS]), pages=len(pages), pictures=pictures)
    except Exception as exc:  # pypdf raises many kinds on broken files; RecursionError too
        return PdfFacts(error=f"unreadable PDF ({type(exc).__name__})")


def _uri(ref: Any) -> str:
    try:
        annot = ref.get_object()
        action = annot.get("/A")
        if action is None:
            return ""
        action = action.get_object()
        if action.get("/S") != "/URI":
            return ""
        uri = action.get("/URI")
        if isinstance(uri, bytes):
            uri = uri.decode("latin-1")
        return str(uri).strip() if uri is not None else ""
    except Exception:
        return ""


def _pictures(page: Any) -> list[tuple[str, Any]]:
    """``(name, dictionary)`` of the page's picture objects (at most 50 objects looked at)."""
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None:
        return []
    xobjects = xobjects.get_object()
    out = []
    for name in list(xobjects.keys())[:50]:
        xobj = xobjects[name].get_object()
        if xobj.get("/Subtype") == "/Image":
            out.append((name, xobj))
    return out


def images(data: bytes) -> Iterator[Any]:
    """Pillow images of the pictures on the first pages (at most ``MAX_IMAGES``), for QR codes.

    Sizes are checked on the picture's dictionary before anything is decoded."""
    if len(data) > MAX_BYTES:
        return
    try:
        reader = _open(data)
        if reader is None:
            return
        count = 0
        for page in reader.pages[:IMAGE_PAGES]:
            for name, xobj in _pictures(page):
                pixels = int(xobj.get("/Width", 0)) * int(xobj.get("/Height", 0))
                if not 0 < pixels <= MAX_PIXELS:
                    continue
                try:
                    img = page.images[name].image
                except Exception:  # noqa: S112 - a picture pypdf cannot decode holds no QR code we can read
                    continue
                if img is not None:
                    yield img
                    count += 1
                    if count >= MAX_IMAGES:
                        return
    except Exception:
        return
