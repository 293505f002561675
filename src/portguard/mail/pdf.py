"""What a PDF attachment holds that a mail filter must see: its links, whether it is locked, the
text of its first pages (a letter announcing new bank details), and the pictures on its first
pages (for QR codes).

A PDF lure is a page with one big button: the phishing URL sits in a link annotation, not in
the mail, so without this it escapes the link checks and the indicator index. A
password-protected PDF (the password in the mail's text) is locked against every scanner, as an
encrypted archive is.

Read with pypdf: pure Python, so a hostile file can raise or be slow but cannot corrupt the
process, and the gateway's scanning threads need no lock (PDFium, the faster renderer, is not
thread-safe). Pages are not rendered; a page that fills many shapes (a QR code drawn as vector
squares, as PDF libraries draw them) has its filled paths drawn in black and white for the QR
decoder (``_drawing``: fill colours, ``q``/``Q`` and ``cm`` followed; text, pictures and
clipping left out). Forms (drawings a page places, as generators wrap its content) are looked
into: their pictures are the page's, and a form that fills many shapes is drawn on its own.
Every function is bounded (``MAX_BYTES``, ``MAX_PAGES``, ``MAX_LINKS``, ``MAX_IMAGES``,
``MAX_PIXELS``, ``MAX_XOBJECTS``) and never raises.
"""

from __future__ import annotations

import io
import logging
import re
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
#: Forms (drawings a page places with ``Do``; generators wrap a page's content in them) are
#: looked into this deep, at most ``MAX_XOBJECTS`` objects per page: a picture or a code drawn
#: inside a form is on the page all the same.
FORM_DEPTH = 3
MAX_XOBJECTS = 50
#: A page with at least this many filled shapes may draw a QR code as vector paths (one square
#: per dark module: ~200 for the smallest code); its paths are then drawn and searched.
MIN_SHAPES = 100
#: Bytes of a page's content stream looked at (~35,000 squares), and the drawing's longer side
#: in pixels.
MAX_CONTENT = 512_000
DRAW_SIDE = 1600
#: Pages whose text is read, and its bounds: pypdf parses every operation of a page to extract
#: its text (~15 µs each), so a page whose content stream is larger is left out.
TEXT_PAGES = 2
MAX_TEXT = 20_000
TEXT_MAX_CONTENT = 100_000

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
    #: Pictures on the first ``IMAGE_PAGES`` pages (in their forms too), and the drawings of
    #: those pages and forms that fill enough shapes to draw a QR code as vector paths
    #: (``images`` has nothing to read when both are 0).
    pictures: int = 0
    drawings: int = 0
    #: The text of the first ``TEXT_PAGES`` pages (at most ``MAX_TEXT`` characters): what a
    #: letter or invoice in the PDF says (a changed IBAN is written there, not in the mail).
    text: str = ""
    #: Why the file could not be read ("" when it could).
    error: str = ""


#: Files that start like this are something else, whatever their first kilobyte holds (a zip
#: that stores a PDF uncompressed has "%PDF-" near its start).
_OTHER_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"MZ", b"\x7fELF", b"Rar!", b"7z\xbc\xaf")


def is_pdf(data: bytes) -> bool:
    # Readers accept the header anywhere in the first kilobyte, and so do attackers.
    at = data.find(b"%PDF-", 0, 1024)
    return at == 0 or (at > 0 and not data.startswith(_OTHER_MAGIC))


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
        first = pages[:IMAGE_PAGES]
        contents = [_content(page) for page in first]  # decoded once for both uses
        placed = [_xobjects(page) for page in first]  # walked once for both counts
        return PdfFacts(
            links=tuple(list(links)[:MAX_LINKS]),
            pages=len(pages),
            pictures=sum(len(_pictures(objects)) for objects in placed),
            drawings=sum(
                len(_drawn(page, content, objects))
                for page, content, objects in zip(first, contents, placed, strict=True)
            ),
            text="\n".join(
                _text(page, content)
                for page, content in zip(first[:TEXT_PAGES], contents[:TEXT_PAGES], strict=True)
            )[:MAX_TEXT],
        )
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


#: ``(path, object)`` pairs: what ``_xobjects`` finds on a page.
Placed = list[tuple[tuple[str, ...], Any]]


def _xobjects(page: Any) -> Placed:
    """``(path, object)`` of the pictures and forms a page places, those inside its forms
    included (breadth first, ``FORM_DEPTH`` deep, at most ``MAX_XOBJECTS`` objects looked at).
    A path names the objects from the page down, as pypdf's ``page.images`` takes it."""
    out: Placed = []
    level: Placed = [((), page)]
    looked = 0
    for _ in range(FORM_DEPTH + 1):
        deeper = []
        for path, holder in level:
            resources = holder.get("/Resources")
            resources = resources.get_object() if resources is not None else None
            xobjects = resources.get("/XObject") if isinstance(resources, dict) else None
            xobjects = xobjects.get_object() if xobjects is not None else None
            if not isinstance(xobjects, dict):
                continue
            for name in list(xobjects.keys()):
                looked += 1
                if looked > MAX_XOBJECTS:
                    return out
                xobj = xobjects[name].get_object()
                if not isinstance(xobj, dict):
                    continue
                kind = xobj.get("/Subtype")
                if kind in ("/Image", "/Form"):
                    out.append(((*path, name), xobj))
                if kind == "/Form":
                    deeper.append(((*path, name), xobj))
        level = deeper
    return out


def _pictures(placed: Placed) -> Placed:
    """The pictures among a page's ``_xobjects``, those inside its forms included."""
    return [(path, xobj) for path, xobj in placed if xobj.get("/Subtype") == "/Image"]


Box = tuple[float, float, float, float]


def _drawn(page: Any, content: bytes, placed: Placed) -> list[tuple[Box, bytes]]:
    """``(box, content)`` of what the page draws with many filled shapes: the page itself (its
    media box; ``content`` is its decoded content), then each of its forms among ``placed``
    (its ``_xobjects``; their bounding box, in the form's own space: a decoder reads a code
    wherever it is placed)."""
    out: list[tuple[Box, bytes]] = []
    if _fills_many(content):
        media = page.mediabox
        box = (float(media.left), float(media.bottom), float(media.width), float(media.height))
        out.append((box, content))
    for _path, xobj in placed:
        if xobj.get("/Subtype") != "/Form":
            continue
        try:
            data = bytes(xobj.get_data()[:MAX_CONTENT])
            x0, y0, x1, y1 = (float(v) for v in xobj["/BBox"])
        except Exception:  # noqa: S112 - a form pypdf cannot read draws nothing we can see
            continue
        if _fills_many(data):
            out.append(((min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)), data))
    return out


_NUM = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)")
#: The path and colour operators the drawing follows, found by one regular expression over the
#: content's bytes (pypdf's parse of every operation costs ~15 µs each: 5 s for a 2 MB page of
#: squares); each operator's numbers are read back from just before it (``_operands``).
_PATH_OPS = re.compile(
    rb"(?<![A-Za-z0-9_.*'\"#/])"
    rb"(re|cm|m|l|c|v|y|h|f\*|f|F|B\*|B|b\*|b|n|S|s|q|Q|g|rg|k|scn|sc)(?![A-Za-z0-9*'\"])"
)
#: An operand is a number of at most this many bytes (longer ones are not read).
_MAX_NUM = 40


def _operands(data: bytes, end: int, want: int) -> list[float]:
    """The last ``want`` numbers before an operator at ``end``, each followed by blanks (fewer
    when other tokens come first). Read backwards from the operator, so a stream of numbers
    with no operator costs nothing: finding operator and operands with one pattern, as this did,
    made a run of 20,000 numbers take 20 s (every start tried against the rest)."""
    start = max(0, end - (_MAX_NUM + 1) * want)
    window = data[start:end]
    if not window[-1:].isspace():
        return []
    tokens = window.split()
    if start and not data[start - 1 : start].isspace() and not window[:1].isspace():
        tokens = tokens[1:]  # the window cut it
    nums: list[float] = []
    for token in reversed(tokens):
        if len(nums) == want or not _NUM.fullmatch(token):
            break
        nums.append(float(token))
    return nums[::-1]


_FILLS = frozenset({b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"})
_FILL_OPS = re.compile(rb"(?<![A-Za-z*])(?:re|f\*?|F|B\*?|b\*?)(?![A-Za-z*])")


def _content(page: Any) -> bytes:
    """The page's content stream, decoded, at most ``MAX_CONTENT`` bytes ("" when unreadable)."""
    try:
        contents = page.get_contents()
        return b"" if contents is None else bytes(contents.get_data()[:MAX_CONTENT])
    except Exception:
        return b""


def _text(page: Any, content: bytes) -> str:
    if not content or len(content) > TEXT_MAX_CONTENT:
        return ""
    try:
        return str(page.extract_text())[:MAX_TEXT]
    except Exception:
        return ""


def _fills_many(content: bytes) -> bool:
    """Whether a page's content fills enough shapes to draw a QR code (counted on the raw
    operators)."""
    return len(_FILL_OPS.findall(content)) >= MIN_SHAPES


def _luminance(operator: bytes, vals: list[float]) -> float | None:
    """The fill colour's lightness (0 black .. 1 white) set by a colour operator, else None."""
    if operator in (b"sc", b"scn"):
        operator = {1: b"g", 3: b"rg", 4: b"k"}.get(len(vals), b"")
    if operator == b"g" and len(vals) == 1:
        return vals[0]
    if operator == b"rg" and len(vals) == 3:
        return 0.299 * vals[0] + 0.587 * vals[1] + 0.114 * vals[2]
    if operator == b"k" and len(vals) == 4:
        return (1 - min(1.0, vals[3])) * (1 - min(1.0, max(vals[:3])))
    return None


_ARITY = {b"re": 4, b"cm": 6, b"m": 2, b"l": 2, b"c": 6, b"v": 4, b"y": 4, b"g": 1, b"rg": 3}
_ARITY |= {b"k": 4}


def _drawing(box: Box, data: bytes) -> Any:
    """The filled paths of a content stream (``data``, decoded; ``box``: left, bottom, width
    and height of what it draws on) in black and white (text and pictures left out): what a
    QR code drawn as vector squares looks like to a camera. None when it fills few shapes."""
    from PIL import Image, ImageDraw

    x0, y0, width, height = box
    if not data or width <= 0 or height <= 0:
        return None
    scale = DRAW_SIDE / max(width, height)
    img = Image.new("L", (max(1, int(width * scale)), max(1, int(height * scale))), 255)
    draw = ImageDraw.Draw(img)
    Matrix = tuple[float, float, float, float, float, float]
    ctm: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    dark = True
    stack: list[tuple[Matrix, bool]] = []
    subpaths: list[list[tuple[float, float]]] = []
    shapes = 0

    def point(x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = ctm
        px, py = a * x + c * y + e, b * x + d * y + f
        return ((px - x0) * scale, (height - (py - y0)) * scale)

    for match in _PATH_OPS.finditer(data):
        operator = match.group(1)
        want = _ARITY.get(operator, 0)
        nums = _operands(data, match.start(), want) if want else []
        if want and len(nums) < want:
            continue  # an operator word without its operands (inside text, or broken)
        if operator == b"q":
            stack.append((ctm, dark))
        elif operator == b"Q":
            if stack:
                ctm, dark = stack.pop()
        elif operator == b"cm":
            a, b, c, d, e, f = nums
            p, q_, r, s_, t, u = ctm
            ctm = (
                a * p + b * r,
                a * q_ + b * s_,
                c * p + d * r,
                c * q_ + d * s_,
                e * p + f * r + t,
                e * q_ + f * s_ + u,
            )
        elif operator == b"re":
            x, y, w, h = nums
            subpaths.append([point(x, y), point(x + w, y), point(x + w, y + h), point(x, y + h)])
        elif operator == b"m":
            subpaths.append([point(*nums)])
        elif operator in (b"l", b"c", b"v", b"y"):
            if subpaths:
                subpaths[-1].append(point(nums[-2], nums[-1]))  # curves by their end points
        elif operator in _FILLS:
            for path in subpaths:
                if len(path) >= 3:
                    draw.polygon(path, fill=0 if dark else 255)
                    shapes += 1
            subpaths = []
        elif operator in (b"n", b"S", b"s"):
            subpaths = []
        elif operator != b"h":
            vals = _operands(data, match.start(), 4)
            light = _luminance(operator, vals)
            if light is not None:
                dark = light < 0.5
    return img if shapes >= MIN_SHAPES else None


def images(data: bytes) -> Iterator[Any]:
    """Pillow images for QR codes, at most ``MAX_IMAGES``: the pictures on the first pages (in
    their forms too), then the drawings of those pages and forms that fill many shapes (a QR
    code drawn as vector squares).

    Sizes are checked on the picture's dictionary before anything is decoded."""
    if len(data) > MAX_BYTES:
        return
    try:
        reader = _open(data)
        if reader is None:
            return
        count = 0
        first = reader.pages[:IMAGE_PAGES]
        placed = [_xobjects(page) for page in first]  # walked once for pictures and drawings
        for page, objects in zip(first, placed, strict=True):
            for path, xobj in _pictures(objects):
                pixels = int(xobj.get("/Width", 0)) * int(xobj.get("/Height", 0))
                if not 0 < pixels <= MAX_PIXELS:
                    continue
                try:
                    img = page.images[path[0] if len(path) == 1 else list(path)].image
                except Exception:  # noqa: S112 - a picture pypdf cannot decode holds no QR code we can read
                    continue
                if img is not None:
                    yield img
                    count += 1
                    if count >= MAX_IMAGES:
                        return
        for page, objects in zip(first, placed, strict=True):
            for box, content in _drawn(page, _content(page), objects):
                drawing = _drawing(box, content)
                if drawing is not None:
                    yield drawing
                    count += 1
                    if count >= MAX_IMAGES:
                        return
    except Exception:
        return
