"""Raw RFC 822 bytes → ``ParsedMessage``: pure, no I/O, never raises.

Python's e-mail parser is lenient but can still raise (or take very long) on hostile input; every
failure here becomes a ``malformed`` note on the result, and limits bound the work: at most
``MAX_PARTS`` MIME parts, ``MAX_TEXT`` characters of text, ``MAX_LINKS`` links. Text parts are
decoded in their declared charset when their bytes are in it, else as UTF-8 or in the charset
that detection (charset-normalizer) finds, else as Latin-1 (never fails); HTML is reduced to its
visible text and its links (href and the text shown for it; image-map areas, frames and form
targets too), forms and scripts. A multipart whose declared boundary never occurs is re-read with
the delimiter its body uses. Attachments
that carry links give them too, marked with the file: PDFs (``portguard.mail.pdf``, which also
says whether they are locked and what their first pages say), Office documents
(``portguard.mail.office``, also what they fetch when opened), web pages and SVG pictures, and
the pages and PDFs in a zip.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import email
import email.header
import email.policy
import hashlib
import html
import io
import re
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.errors import InvalidBase64LengthDefect
from email.message import Message
from email.utils import getaddresses, parseaddr

import charset_normalizer

from portguard.mail import office, pdf
from portguard.mail.office import OfficeFacts
from portguard.mail.pdf import PdfFacts

__all__ = [
    "HTML_STARTS",
    "PAGE_EXTENSIONS",
    "Attachment",
    "Link",
    "ParsedMessage",
    "is_page",
    "page_markup",
    "parse_message",
]

MAX_PARTS = 200
MAX_TEXT = 200_000
MAX_LINKS = 500
#: PDF and Office attachments read for links (more is unusual; the rest are still attachments),
#: and the links taken from one attachment.
MAX_DOCUMENTS = 5
MAX_DOCUMENT_LINKS = 50
MAX_HEADER = 8_000

#: Longest tag the patterns read (characters between "<" and ">"): every tag pattern below
#: uses it, and ``_escape_stray_lt`` relies on that.
_TAG_SPAN = 4000
#: Its attributes: anything up to the tag's ">".
_ATTRS = f"[^>]{{0,{_TAG_SPAN}}}"
_URL_RE = re.compile(r"""\b(?:https?://|www\.)[^\s<>"'(){}\[\]]{2,2000}""", re.I)
#: A link's opening tag, and its end tag: the text between them (at most ``_LINK_TEXT``
#: characters, see ``_anchors``) is what the link shows.
_A_OPEN_RE = re.compile(rf"<a\b({_ATTRS})>", re.I)
_A_CLOSE_RE = re.compile(r"</a\s*>", re.I)
_LINK_TEXT = 2000
#: Markup with no more "<" than this is read as it is (each costs at most ~4,000 steps).
_FEW_LT = 300
#: A ">" followed by more characters than a tag holds before the next ">".
_LONG_RUN_RE = re.compile(rf">[^>]{{{_TAG_SPAN + 2}}}")
#: A "<" that starts no comment.
_LT_RE = re.compile(r"<(?!!--)")
_HREF_RE = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
#: Addresses outside ``<a>`` that a mail's HTML sends the reader to or loads: image-map areas
#: (a picture of a button whose link an ``<a>``-only reader never sees), frames, form targets.
_OTHER_LINK_RE = re.compile(rf"<(?:area|i?frame|form)\b({_ATTRS})>", re.I)
_TARGET_RE = re.compile(
    r"""(?<![\w-])(?:href|src|action)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I
)
_TAG_RE = re.compile(rf"<{_ATTRS}>", re.S)
#: Elements whose content a mail client does not show: their openings, and their ends.
_HIDDEN = ("script", "style", "head")
_HIDDEN_OPEN_RE = re.compile(rf"<({'|'.join(_HIDDEN)})\b", re.I)
_HIDDEN_CLOSE_RE = {name: re.compile(rf"</{name}\s*>", re.I) for name in _HIDDEN}
_WS_RE = re.compile(r"[ \t\r\f\v]+")
#: Comments and inline tags: gone without a trace (``V<!-- -->iag<b></b>ra`` is one word).
_INVISIBLE_RE = re.compile(
    r"<!--.*?(?:-->|$)"
    r"|</?(?:a|b|i|u|s|em|strong|font|span|small|big|sup|sub|strike|abbr|code|tt|wbr|o:p)\b"
    rf"{_ATTRS}>",
    re.I | re.S,
)
#: Block tags break the line (marked NUL until blanks are folded).
_BLOCK_RE = re.compile(
    r"</?(?:br|p|div|tr|li|h[1-6]|table|hr|blockquote|ul|ol|title|center|pre|dl|dt|dd|form"
    rf"|section|article|header|footer)\b{_ATTRS}>",
    re.I,
)
_BREAKS_RE = re.compile(r"\x00[\x00 ]*")
_SURROGATE_RE = re.compile("[\udc80-\udcff]")
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
#: The first delimiter line of a multipart body ("--" and a boundary, RFC 2046 5.1.1).
_DELIMITER_RE = re.compile(rb'^--([^\r\n"]{1,70}?)[ \t]*\r?$', re.M)
#: A file name parameter as written (``filename="..."`` or ``name=...``).
_RAW_NAME_RE = re.compile(r'(?i)(?<![\w*])(?:file)?name\s*=\s*(?:"([^"]*)"|([^\s;"]+))')
#: A header field's first line, or a folded continuation of one.
_HEADER_LINE_RE = re.compile(rb"^(?:[!-9;-~]{1,76}:|[ \t]+\S)")


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    #: The text shown for it (HTML anchors), or "" for a bare URL in text.
    text: str = ""
    #: The attachment it is in (a PDF's link annotation), or "" for the message's own text.
    where: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    sha256: str
    #: Whether it came as an inline image (QR codes) rather than a named attachment.
    inline: bool = False
    #: What a PDF holds (links, locked or not); None for anything else.
    pdf: PdfFacts | None = None
    #: What an Office (OOXML) document links to and fetches; None for anything else.
    office: OfficeFacts | None = None


@dataclass
class ParsedMessage:
    """What the analysers see. ``headers`` keeps every header (lower-cased names, in order)."""

    raw_size: int = 0
    raw: bytes = field(default=b"", repr=False)
    headers: list[tuple[str, str]] = field(default_factory=list)
    subject: str = ""
    from_name: str = ""
    from_addr: str = ""
    reply_to: str = ""
    return_path: str = ""
    to: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    links: list[Link] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    part_types: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    @property
    def from_domain(self) -> str:
        return domain_of(self.from_addr)

    _visible: str | None = field(default=None, repr=False, compare=False)

    @property
    def body(self) -> str:
        """What the reader sees (computed once): the HTML part's text when it says more than
        the plain part, since mail clients show the HTML alternative (a one-line "your client
        cannot show HTML" plain part must not hide the message), else the plain part."""
        if self._visible is None:
            # Markup is never shorter than its text: skip rendering HTML that cannot say more.
            shown = html_text(self.html) if len(self.html) > len(self.text.strip()) else ""
            self._visible = shown if len(shown.strip()) > len(self.text.strip()) else self.text
        return self._visible


def domain_of(addr: str) -> str:
    return addr.rpartition("@")[2].strip().strip(">").lower().rstrip(".") if "@" in addr else ""


def html_text(markup: str) -> str:
    """The text a mail client renders: comments and inline tags vanish without a trace
    (``V<!-- x -->iag<b></b>ra`` reads "Viagra"), source line breaks are blanks, block tags
    break lines."""
    text = _escape_stray_lt(_strip_hidden(markup[:MAX_TEXT].replace("\x00", "")))
    text = _INVISIBLE_RE.sub("", text)
    text = _TAG_RE.sub(" ", _BLOCK_RE.sub("\x00", text))
    # str.split folds every run of blanks (source line breaks included) faster than a regex.
    return _BREAKS_RE.sub("\n", " ".join(html.unescape(text).split()))


def _strip_hidden(markup: str) -> str:
    """``markup`` with each script, style and head element (up to its end tag) replaced by a
    blank; an element that is never closed is left as it is. Linear: a pattern such as
    ``<script>.*?</script>`` tries every opening against the rest of the text, and 24,000
    unclosed ``<script>`` tags took 11 seconds."""
    out: list[str] = []
    pos = 0
    unclosed: dict[str, int] = {}  # no end tag after this position: none after a later one
    while (m := _HIDDEN_OPEN_RE.search(markup, pos)) is not None:
        name = m[1].lower()
        end = None
        if m.end() < unclosed.get(name, len(markup) + 1):
            end = _HIDDEN_CLOSE_RE[name].search(markup, m.end())
            if end is None:
                unclosed[name] = m.end()
        if end is None:
            out.append(markup[pos : m.end()])
            pos = m.end()
            continue
        out.append(markup[pos : m.start()])
        out.append(" ")
        pos = end.end()
    out.append(markup[pos:])
    return "".join(out)


def _escape_stray_lt(markup: str) -> str:
    """``markup`` with each "<" that cannot open a tag (no ">" within ``_TAG_SPAN`` characters
    after it) written as "&lt;", which reads the same once the text is unescaped. Each tag
    pattern tries such a "<" against the next 4,000 characters before giving up, so 200 KB of
    them took 0.7 s. Comment openings stay: a comment needs no ">" nearby."""
    if markup.count("<") <= _FEW_LT:
        return markup  # at most a few: their cost is bounded (under 10 ms however placed)
    last = markup.rfind(">")
    if (
        not _LONG_RUN_RE.search(markup)
        and markup.find(">") <= _TAG_SPAN + 1
        and "<" not in markup[last + 1 :]
    ):
        return markup  # every "<" has its ">" in reach: ~8 µs for 9 KB
    segments = markup.split(">")  # the text between two ">"; the last one has none after it
    keep = _TAG_SPAN + 1  # a "<" this near the segment's ">" can still open a tag
    for i, seg in enumerate(segments[:-1]):
        if len(seg) > keep and "<" in seg[:-keep]:
            segments[i] = _LT_RE.sub("&lt;", seg[:-keep]) + seg[-keep:]
    segments[-1] = _LT_RE.sub("&lt;", segments[-1])
    return ">".join(segments)


def _anchors(markup: str) -> Iterator[tuple[str, str]]:
    """Each ``<a ...>``'s attributes and the text it shows, as a browser reads them: the text
    ends at the link's end tag, at the next ``<a`` (a new link closes the one before it) or
    after ``_LINK_TEXT`` characters, and a link with no end tag is still a link (to the end of
    the page, in a browser). Linear: the end tags are found once, and each opening looks up the
    first one after it."""
    ends = [m.start() for m in _A_CLOSE_RE.finditer(markup)]
    openings = list(_A_OPEN_RE.finditer(markup))
    for k, opening in enumerate(openings):
        start = opening.end()
        stop = start + _LINK_TEXT
        i = bisect.bisect_left(ends, start)
        if i < len(ends):
            stop = min(stop, ends[i])
        if k + 1 < len(openings):
            stop = min(stop, openings[k + 1].start())
        yield opening[1], markup[start:stop]


def html_links(markup: str) -> list[Link]:
    """The links of ``markup``: ``<a href>`` with the text it shows, then the addresses of
    image-map areas, frames and forms; linear in the markup."""
    out: list[Link] = []
    markup = _escape_stray_lt(markup[:MAX_TEXT])
    for attrs, inner in _anchors(markup):
        h = _HREF_RE.search(attrs)
        if not h:
            continue
        href = html.unescape(next(g for g in h.groups() if g is not None)).strip()
        shown = _WS_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", inner))).strip()
        out.append(Link(href[:2000], shown[:500]))
        if len(out) >= MAX_LINKS:
            return out
    seen = {link.url for link in out}
    for m in _OTHER_LINK_RE.finditer(markup):
        h = _TARGET_RE.search(m.group(1))
        if not h:
            continue
        url = html.unescape(next(g for g in h.groups() if g is not None)).strip()[:2000]
        if url.lower().startswith(("http://", "https://")) and url not in seen:
            seen.add(url)
            out.append(Link(url))
            if len(out) >= MAX_LINKS:
                break
    return out


def text_links(text: str) -> list[Link]:
    return [Link(m.group(0).rstrip(".,;:!?")) for m in _URL_RE.finditer(text[:MAX_TEXT])][
        :MAX_LINKS
    ]


def _header_str(value: object, charset: str = "latin-1") -> str:
    """A header value as text. Raw 8-bit bytes are read as UTF-8, else in ``charset`` (the
    message's own, which is what an old Korean or Chinese mailer wrote them in), else Latin-1."""
    try:
        text = str(value)
    except Exception:
        text = repr(value)
    if not text.isascii() and _SURROGATE_RE.search(text):  # raw 8-bit header bytes
        raw = text.encode("utf-8", "surrogateescape")
        for cs in ("utf-8", charset):
            try:
                text = raw.decode(cs)
                break
            except (UnicodeDecodeError, LookupError):
                continue
        else:
            text = raw.decode("latin-1")
    # Unfold (RFC 5322 2.2.3), then a header must not smuggle further header lines
    # (injection): any CR/LF left becomes a space.
    if "\n" in text or "\r" in text:
        text = _FOLD_RE.sub("", text).replace("\r", " ").replace("\n", " ")
    return text[:MAX_HEADER]


def _text_charset(msg: Message) -> str:
    """The charset the message's first text part is read in (``_read``): an old Korean or
    Chinese mailer wrote raw 8-bit headers in the same one. Latin-1 when there is no text."""
    for n, part in enumerate(msg.walk()):
        if n > 20:
            break
        if part.get_content_maintype() == "text" and not part.is_multipart():
            cs = _read(part, _payload(part), [])[0]
            return "latin-1" if cs == "ascii" else cs
    return "latin-1"


def _mend_multipart(part: Message, boundary: bytes | None = None) -> None:
    """A multipart whose declared boundary never occurs (``StartBoundaryNotFoundDefect``: the
    header says ``=Multipart Boundary``, the body ``= Multipart Boundary``; a stray quote) is
    re-read with the delimiter its body does use, so its text and attachments are scanned
    instead of being one opaque blob; a lenient mail client shows them too. Without a
    delimiter line it stays as it is."""
    # The bytes as they came (get_payload() without decode would turn 8-bit text into U+FFFD).
    payload = _payload(part)
    if boundary is None:
        m = _DELIMITER_RE.search(payload, 0, 65_536)
        if not m:
            return
        boundary = m[1]
    ctype = part.get_content_type().encode("ascii", "replace")  # whatever the header held
    head = b'Content-Type: %s; boundary="%s"\n\n' % (ctype, boundary)
    mended = email.message_from_bytes(head + payload, policy=email.policy.compat32)
    if mended.is_multipart():
        part.set_payload(mended.get_payload())


def _payload(part: Message) -> bytes:
    defects = len(part.defects)
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    if not isinstance(data, bytes):
        return b""
    if any(isinstance(d, InvalidBase64LengthDefect) for d in part.defects[defects:]):
        return _base64_lines(part)
    return data


#: A line of base64 as encoders write it (the alphabet, padding at the end).
_B64_LINE_RE = re.compile(rb"[A-Za-z0-9+/]+={0,2}")


def _base64_lines(part: Message) -> bytes:
    """The base64 lines at the start of a part that Python gave up on, decoded.

    Python's decoder returns the base64 text itself when the characters do not add up, which
    is what a mailing list's plain-text footer tacked onto a base64 body does (and what a
    spammer's stray character does on purpose): the filter would read base64 while the mail
    client shows the decoded page. Clients decode the base64 lines and drop the rest; so does
    this (the first line that is not base64 ends it; an incomplete last group is dropped)."""
    raw = part.get_payload(decode=False)
    if not isinstance(raw, str):
        return b""
    lines: list[bytes] = []
    for line in raw.encode("ascii", "replace").splitlines():
        line = line.strip()
        if not line:
            if lines:
                break
            continue
        if not _B64_LINE_RE.fullmatch(line):
            break
        lines.append(line)
        if line.endswith(b"="):
            break
    data = b"".join(lines)
    data = data[: len(data) - len(data) % 4]
    try:
        return base64.b64decode(data)
    except (binascii.Error, ValueError):
        return b""


#: Charset labels as mail clients and browsers read them (the WHATWG Encoding Standard): a
#: label names its superset, which is what the sending software really wrote (GBK bytes under
#: "gb2312", Windows-1252 quotes under "iso-8859-1").
_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
}
_NO_LABEL = ("", "us-ascii", "ascii")
#: Bytes charset detection reads: enough to tell, bounded in time.
DETECT_BYTES = 16_384


def _detect(data: bytes) -> str:
    """The charset detection finds for ``data``; Windows-1252 (the Western European default
    that mail clients fall back to) when it fits as well as the best guess, since on short text
    the detector cannot tell it from its neighbours (French read as CP1250 turns "à" into "ŕ")."""
    found = charset_normalizer.from_bytes(data)
    best = found.best()
    if best is None:
        return _western(data)
    if any("cp1252" in m.could_be_from_charset and m.chaos <= best.chaos for m in found):
        return _western(data)
    return str(best.encoding)


#: Turkish ğ, ş, dotless i and their capitals are, in Windows-1252, the Icelandic ð þ ý Ð Þ Ý
#: (found inside words).
_TURKISH_RE = re.compile(rb"[a-z\xe7\xf6\xfc][\xf0\xfe\xfd]|[\xd0\xde\xdd\xf0\xfe\xfd][a-z]")
#: Inside words: ç and ü are Turkish, not Icelandic; á é í ó ú æ Icelandic, not Turkish.
_TURKISH_ONLY_RE = re.compile(rb"[a-z][\xe7\xfc]|[\xe7\xfc\xc7\xdc][a-z]")
#: (Icelandic's "á" is a word of its own; binary junk in a text part is not next to letters.)
_ICELANDIC_ONLY_RE = re.compile(
    rb"[a-z ][\xe1\xe9\xed\xf3\xfa\xe6]|[\xe1\xe9\xed\xf3\xfa\xe6\xc1\xc9\xcd\xd3\xda\xc6][a-z ]"
)


def _western(data: bytes) -> str:
    """Windows-1252, or Windows-1254 for Turkish: the two differ in six letters, and the
    detector cannot tell them apart (Turkish in 1252 reads "Ýstanbul'a gidiþ"). Turkish when
    those letters occur inside words and the letters only one of the two languages has do not
    say Icelandic (a tie is Turkish: Turkey trades with the port, Iceland far less)."""
    head = data[:20_000]
    if len(_TURKISH_RE.findall(head)) >= 3 and len(_TURKISH_ONLY_RE.findall(head)) >= len(
        _ICELANDIC_ONLY_RE.findall(head)
    ):
        return "cp1254"
    return "cp1252"


def _lenient(data: bytes, charset: str) -> str:
    """``data`` in its declared ``charset`` with the few bytes that are not in it replaced, as
    a mail client shows it; "" when more than one character in twenty is lost (then the label
    is wrong, not a few bytes). A Korean or Chinese mail with junk after ``</html>`` stays
    Korean instead of being re-detected as Latin-1 mojibake. A UTF-8 label is not forgiven:
    text that breaks it is in another charset (Windows-1252 accents), which detection finds."""
    if charset in ("utf-8", "utf8"):
        return ""
    try:
        text = data.decode(charset, errors="replace")
    except (LookupError, UnicodeError, ValueError):
        return ""
    return text if text.count("\ufffd") * 20 <= len(text) else ""


def _read(part: Message, data: bytes, notes: list[str]) -> tuple[str, str]:
    """The part's text and the charset it was read in: the declared one (as its WHATWG
    superset) when the bytes are in it; else UTF-8 if they are UTF-8 (8-bit text labelled
    US-ASCII or not at all, bytes invalid in the label); else the declared one if only a few
    bytes are not in it (``_lenient``); else the charset detection finds (a
    Russian mailer's CP1251 under "us-ascii"). The words survive for the reader and the
    classifier instead of turning into U+FFFD."""
    declared = (part.get_content_charset() or "").lower()
    if declared in _NO_LABEL and data.isascii():
        return "ascii", data.decode("ascii")
    charset = _SUPERSETS.get(declared, declared)
    if declared not in _NO_LABEL:
        try:
            return charset, data.decode(charset)
        except LookupError:
            notes.append(f"unknown charset {declared[:40]!r}")
        except (UnicodeError, ValueError):
            pass
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # An unknown label makes _lenient return "" (it catches the LookupError).
    if declared not in _NO_LABEL and (text := _lenient(data, charset)):
        return charset, text
    found = _detect(data[:DETECT_BYTES])
    try:
        return found, data.decode(found, errors="replace")
    except (LookupError, UnicodeError, ValueError):
        return "latin-1", data.decode("latin-1")


def _filename(part: Message, root: Message) -> str:
    """A part's file name (RFC 2231 and encoded words decoded; raw 8-bit bytes read as UTF-8,
    else in the charset of ``root``'s text, as ``_header_str`` reads headers)."""
    try:
        name = part.get_filename() or ""
    except (LookupError, ValueError):
        # An RFC 2231 name whose charset cannot exist (a NUL in it): its %-escapes as Latin-1.
        value = part.get_param("filename", header="content-disposition") or part.get_param("name")
        raw = value[2] if isinstance(value, tuple) else str(value or "")
        name = urllib.parse.unquote(raw, encoding="latin-1")
    if "\ufffd" in name:
        # compat32 turned raw 8-bit bytes into U+FFFD; the raw header still has them.
        for key, value in part.raw_items():
            if key.lower() in ("content-disposition", "content-type"):
                m = _RAW_NAME_RE.search(str(value))
                if m:
                    name = _header_str(m[1] or m[2], _text_charset(root))
                    break
    return _decode_header(_header_str(name))


def _undeclared_boundary(payload: bytes) -> bytes | None:
    """The boundary of a body that is MIME parts although no header says so: the sender's
    software left out the Content-Type, or a blank line inside the header block pushed it into
    the body. The body must start as a multipart does: before its first delimiter, only blank
    lines, header lines and at most two lines of preamble ("This is a multi-part message");
    the delimiter is followed by a part's header with a Content-Type. A message that quotes a
    MIME message after a few lines of its own words stays text."""
    prose = 0
    lines = payload[:65_536].splitlines()
    for i, line in enumerate(lines[:100]):
        m = _DELIMITER_RE.match(line)
        if m and _starts_part(lines[i + 1 : i + 30]):
            return m[1]
        if not line.strip() or _HEADER_LINE_RE.match(line):
            continue
        prose += 1
        if prose > 2:
            return None
    return None


def _starts_part(lines: list[bytes]) -> bool:
    """Whether ``lines`` are a MIME part's header (up to its blank line) with a Content-Type."""
    for line in lines:
        if not line.strip():
            return False
        if line[:13].lower() == b"content-type:":
            return True
        if not _HEADER_LINE_RE.match(line):
            return False
    return False


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse ``raw``; never raises. Problems are listed in ``malformed``."""
    pm = ParsedMessage(raw_size=len(raw), raw=raw)
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as exc:
        pm.malformed.append(f"unparseable: {type(exc).__name__}")
        pm.text = raw[:MAX_TEXT].decode("latin-1")
        pm.links = text_links(pm.text)
        return pm
    try:
        _fill(pm, msg)
    except Exception as exc:
        pm.malformed.append(f"parser error: {type(exc).__name__}: {str(exc)[:200]}")
    return pm


def _fill(pm: ParsedMessage, msg: Message) -> None:
    for defect in getattr(msg, "defects", [])[:5]:
        pm.malformed.append(type(defect).__name__)
    # raw_items: compat32 would turn raw 8-bit header bytes into U+FFFD; kept raw, they are
    # decoded as UTF-8 (the common case today) or Latin-1 by ``_header_str``.
    items = list(msg.raw_items())[:500]
    raw8 = any(isinstance(v, str) and not v.isascii() for _, v in items)
    charset = _text_charset(msg) if raw8 else "latin-1"
    for k, v in items:
        pm.headers.append((k.lower(), _decode_header(_header_str(v, charset))))
    if not pm.headers:
        pm.malformed.append("no headers")
    pm.subject = pm.header("subject") or ""
    name, addr = _from_mailbox(pm.header("from") or "", pm.malformed)
    pm.from_name, pm.from_addr = name.strip()[:300], addr.strip().lower()[:300]
    pm.reply_to = _parseaddr(pm.header("reply-to") or "")[1].lower()[:300]
    pm.return_path = _parseaddr(pm.header("return-path") or "")[1].lower()[:300]
    tos = [*pm.header_all("to"), *pm.header_all("cc")]
    pm.to = [a.lower() for _, a in _getaddresses(tos) if "@" in a][:100]

    if msg.get("content-type") is None and not msg.is_multipart():
        boundary = _undeclared_boundary(_payload(msg))
        if boundary is not None:
            msg["Content-Type"] = "multipart/mixed"
            _mend_multipart(msg, boundary)
            pm.malformed.append("undeclared multipart")

    texts: list[str] = []
    htmls: list[str] = []
    documents_read = 0
    for n, part in enumerate(msg.walk()):
        if n >= MAX_PARTS:
            pm.malformed.append(f"more than {MAX_PARTS} MIME parts")
            break
        # msg.walk() looks at a part's children after yielding it, so a part mended here is
        # walked into.
        declared = part.get_content_type()  # each lookup scans every header: once a part
        if declared.split("/")[0] == "multipart" and not part.is_multipart():
            _mend_multipart(part)
        for defect in getattr(part, "defects", [])[:3]:
            name_ = type(defect).__name__
            if name_ not in pm.malformed:
                pm.malformed.append(name_)
        ctype = declared.lower().split()[0].rstrip(";,") or "text/plain"
        pm.part_types.append(ctype)
        if part.is_multipart():
            continue
        filename = _filename(part, msg)
        disposition = str(part.get("content-disposition") or "").lower()
        data = _payload(part)
        # A message that is one text part is its body, even when it names a file
        # (``inline; filename="filename.html"``): that is what a mail client shows.
        if (
            ctype in ("text/plain", "text/html")
            and (not filename or n == 0)
            and "attachment" not in disposition
        ):
            decoded = _read(part, data, pm.malformed)[1]
            is_html = ctype == "text/html" or (
                decoded.lstrip()[:1] == "<" and bool(_TAG_RE.search(decoded[:2000]))
            )
            (htmls if is_html else texts).append(decoded)
            continue
        if ctype == "message/rfc822":
            continue
        if data or filename:
            facts = office_facts = None
            if documents_read < MAX_DOCUMENTS and pdf.is_pdf(data):
                documents_read += 1
                facts = pdf.inspect(data)
            elif documents_read < MAX_DOCUMENTS and office.is_ooxml(data):
                documents_read += 1
                office_facts = office.inspect(data)
            pm.attachments.append(
                Attachment(
                    filename=filename[:300],
                    content_type=ctype,
                    data=data,
                    sha256=hashlib.sha256(data).hexdigest(),
                    inline=not filename and ctype.startswith("image/"),
                    pdf=facts,
                    office=office_facts,
                )
            )
    pm.text = "\n".join(texts)[:MAX_TEXT]
    pm.html = "\n".join(htmls)[:MAX_TEXT]
    links = html_links(pm.html)
    seen = {link.url for link in links}
    for link in text_links(pm.text):
        if link.url not in seen:
            links.append(link)
            seen.add(link.url)
    # Documents' links come first: when a mail carries a PDF or Word lure, its button is the one
    # that matters, and padding the body with links must not push it out of the checks.
    in_documents = [
        Link(url, "", att.filename or "attachment")
        for att in pm.attachments[:MAX_PARTS]
        for url in _document_links(att)
    ]
    pm.links = in_documents[:MAX_LINKS] + links[:MAX_LINKS]


#: Extensions of attached web pages (an SVG picture runs scripts as a page does; a saved
#: ``.mht`` page is MIME around HTML): read here for their links, and by the attachment
#: analyser for forms, redirects and smuggling.
PAGE_EXTENSIONS = frozenset({"html", "htm", "shtml", "xhtml", "svg", "mht", "mhtml"})
_PAGE_EXT = tuple(sorted("." + ext for ext in PAGE_EXTENSIONS))


def _document_links(att: Attachment) -> tuple[str, ...]:
    """The links an attachment carries: a PDF's annotations, an Office document's hyperlinks,
    the addresses in an attached web page."""
    if att.pdf is not None:
        return att.pdf.links
    if att.office is not None:
        return att.office.links
    if _is_page(att):
        return _page_links(att.data)
    return _archive_links(att.data) if att.data[:4] == b"PK\x03\x04" else ()


def _archive_links(data: bytes) -> tuple[str, ...]:
    """The links of the web pages and PDFs in a zip (first level, at most 3 documents of under
    5 MB each): a zipped login page is a login page."""
    out: dict[str, None] = {}
    # A broken or hostile archive keeps what was read before it failed; the attachment
    # analyser reports the archive itself.
    with contextlib.suppress(Exception), zipfile.ZipFile(io.BytesIO(data)) as zf:
        documents = [
            i
            for i in zf.infolist()[:200]
            if i.file_size < 5_000_000 and i.filename.lower().endswith((*_PAGE_EXT, ".pdf"))
        ][:3]
        for info in documents:
            inner = zf.read(info)
            found = pdf.inspect(inner).links if pdf.is_pdf(inner) else _page_links(inner)
            out.update(dict.fromkeys(found))
    return tuple(out)[:MAX_DOCUMENT_LINKS]


def _is_page(att: Attachment) -> bool:
    return is_page(att.filename, att.content_type, att.data)


#: How a web page's markup starts (after blanks, in lower case).
HTML_STARTS = (b"<!doctype html", b"<html", b"<script", b"<head", b"<body", b"<form")
#: Content types of web pages (and of SVG pictures, which run scripts as a page does).
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml"})


def is_page(filename: str, content_type: str, data: bytes) -> bool:
    """Whether an attachment (or an archive's member) is a web page, by its name, its declared
    type or its first bytes: credential forms, redirects to the phishing site and HTML
    smuggling come so. The parser reads such pages' links; the attachment analyser, their
    forms and scripts."""
    if filename.lower().endswith(_PAGE_EXT) or content_type in _PAGE_TYPES:
        return True
    return data[:2048].lstrip().lower().startswith((*HTML_STARTS, b"<svg"))


#: How a saved ``.mht`` page starts (its MIME headers, as browsers write them).
_MIME_START = (b"from:", b"subject:", b"date:", b"mime-version:", b"content-type:")
MAX_PAGE_BYTES = 2_000_000


def page_markup(data: bytes) -> str:
    """An attached page's markup (its first ``MAX_PAGE_BYTES``). A saved ``.mht`` page is MIME
    around HTML, quoted-printable or base64 (``type=3D"password"``, addresses cut by soft line
    breaks): its HTML parts are unwrapped first."""
    head = data[:4096].lstrip().lower()
    if head.startswith(_MIME_START) and b"content-type:" in head:
        wrapped = email.message_from_bytes(data[:MAX_PAGE_BYTES])
        parts = [
            part.get_payload(decode=True)
            for part in wrapped.walk()
            if part.get_content_type() in ("text/html", "image/svg+xml")
        ]
        markup = b"\n".join(p for p in parts if isinstance(p, bytes))
        if markup:
            return markup[:MAX_PAGE_BYTES].decode("utf-8", "replace")
    return data[:MAX_PAGE_BYTES].decode("utf-8", "replace")


def _page_links(data: bytes) -> tuple[str, ...]:
    """The web addresses anywhere in an attached page (anchors, form actions, redirects,
    scripts), entity-encoded ones (``&#104;ttps``) included; at most 50."""
    text = html.unescape(page_markup(data))
    return tuple(dict.fromkeys(link.url for link in text_links(text)))[:MAX_DOCUMENT_LINKS]


#: ``addr``, ``<addr>`` or ``Plain Name <addr>``: most headers, parsed without the standard
#: library's general (and much slower) address parser, which takes every other form.
_ADDR = r"[^\s<>(),;:@\"\\\[\]]+@[^\s<>(),;:@\"\\\[\]]+"
#: The name is taken possessively (``*+``) and its blanks trimmed afterwards: with ``\s*`` on
#: both sides of a lazy name, a From header of 7,000 blanks took 90 s (every split of the
#: blanks between the three was tried).
_SIMPLE_MAILBOX = re.compile(rf"(?:([^\"<>(),;:@\\\[\]]*+)<({_ADDR})>|<?({_ADDR})>?)")


def _simple_mailbox(value: str) -> tuple[str, str] | None:
    """``(name, addr)`` of a plain mailbox, None for any other form."""
    m = _SIMPLE_MAILBOX.fullmatch(value.strip())
    if m is None:
        return None
    # The standard parser folds runs of blanks in the display name; so does this.
    return (_WS_RE.sub(" ", m.group(1).strip()), m.group(2)) if m.group(2) else ("", m.group(3))


def _parseaddr(value: str) -> tuple[str, str]:
    return _simple_mailbox(value) or parseaddr(value)


def _getaddresses(values: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for value in values:
        if '"' in value or "(" in value or ":" in value or "\\" in value:
            return getaddresses(values)
        for item in value.split(","):
            if item.strip():
                mailbox = _simple_mailbox(item)
                if mailbox is None:
                    return getaddresses(values)
                out.append(mailbox)
    return out


_ANGLE_ADDR = re.compile(r"<\s*([^<>@\s]+@[^<>\s]+?)\s*>")


def _from_mailbox(value: str, notes: list[str]) -> tuple[str, str]:
    """The From mailbox, also from the invalid forms phishers use (an unquoted comma in the
    display name: ``Microsoft account team ,_<no-reply@…>``), noting that it was invalid."""
    name, addr = _parseaddr(value)
    if "@" in addr or not value:
        return name, addr
    m = _ANGLE_ADDR.search(value)
    if m:
        notes.append("From header is not a valid mailbox (unquoted display name)")
        return value[: m.start()].strip().strip('"').strip(), m.group(1)
    notes.append("From without an address")
    return name, addr


def _decode_header(value: str) -> str:
    if "=?" not in value:
        return value
    try:
        parts = email.header.decode_header(value)
    except Exception:
        return value
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            try:
                out.append(chunk.decode(charset or "latin-1", errors="replace"))
            except (LookupError, ValueError):  # an unknown charset, or one with a NUL in it
                out.append(chunk.decode("latin-1"))
        else:
            out.append(chunk)
    return "".join(out)[:MAX_HEADER]
