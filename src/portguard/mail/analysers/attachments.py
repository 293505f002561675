"""Attachments, judged by content, not by name: executables, Office macros (oletools), archives
holding executables or encrypted, zip bombs, disk images, HTML smuggling and credential pages,
PDFs that run code or are password-protected, Office documents that fetch a template or object
from the network when opened, and attachment hashes against the indicator index."""

from __future__ import annotations

import io
import re
import warnings
import zipfile

from portguard.mail.analysers.base import (
    FORM_RE,
    AnalysisContext,
    Envelope,
    has_password_input,
)
from portguard.mail.parse import HTML_STARTS, Attachment, ParsedMessage, is_page, page_markup
from portguard.mail.schemas import Reason

__all__ = ["DANGEROUS_EXT", "analyse", "sniff"]

DANGEROUS_EXT = frozenset(
    [
        "exe",
        "scr",
        "com",
        "pif",
        "bat",
        "cmd",
        "js",
        "jse",
        "vbs",
        "vbe",
        "wsf",
        "wsh",
        "hta",
        "ps1",
        "psm1",
        "jar",
        "lnk",
        "msi",
        "msp",
        "cpl",
        "dll",
        "reg",
        "iso",
        "img",
        "vhd",
        "vhdx",
        "appx",
        "msix",
        "one",
        "xll",
        "application",
        "gadget",
        "sct",
        "chm",
    ]
)
_OFFICE_EXT = frozenset(
    [
        "doc",
        "docm",
        "xls",
        "xlsm",
        "ppt",
        "pptm",
        "dot",
        "dotm",
        "xlam",
        "xla",
        "docx",
        "xlsx",
        "pptx",
    ]
)
_SMUGGLE_RE = re.compile(
    r"(msSaveOrOpenBlob|new\s+Blob\s*\(|atob\s*\(|\.download\s*=|createObjectURL)", re.I
)
_REDIRECT_RE = re.compile(
    r"""(http-equiv\s*=\s*["']?refresh|window\.location|location\.(href|replace))""", re.I
)
MAX_ARCHIVE_DEPTH = 3
MAX_MEMBERS = 500
BOMB_RATIO = 100
BOMB_SIZE = 200_000_000


def sniff(data: bytes) -> str:
    """A short type name from magic bytes: exe, elf, zip, ole, pdf, rar, 7z, gz, iso, html..."""
    head = data[:8]
    if head[:2] == b"MZ":
        return "exe"
    if head[:4] == b"\x7fELF":
        return "elf"
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        return "zip"
    if head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole"
    if head[:5] == b"%PDF-":
        return "pdf"
    if head[:4] == b"Rar!":
        return "rar"
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    if head[:2] == b"\x1f\x8b":
        return "gz"
    if len(data) > 0x8006 and data[0x8001:0x8006] == b"CD001":
        return "iso"
    if head[:4] in (b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe"):
        return "macho"
    low = data[:2048].lstrip().lower()
    if low.startswith(HTML_STARTS):
        return "html"
    if low.startswith((b"{\\rtf",)):
        return "rtf"
    return "data"


def _ext(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _macros(name: str, data: bytes) -> Reason | None:
    try:
        with warnings.catch_warnings():
            # olevba still calls pyparsing's pre-3.0 names, which warn on import.
            warnings.simplefilter("ignore", DeprecationWarning)
            from oletools.olevba import VBA_Parser
    except ImportError:
        return None
    try:
        vp = VBA_Parser(name or "attachment", data=data)
        try:
            if not vp.detect_vba_macros():
                return None
            kinds = {str(k).lower() for k, _kw, _d in vp.analyze_macros()}
        finally:
            vp.close()
    except Exception:
        return None
    auto = "autoexec" in kinds
    return Reason(
        "attachments.office_macro",
        8.0 if auto else 5.0,
        f"{name or 'an Office file'} has VBA macros" + (" that run on open" if auto else ""),
        kind="malware",
    )


def _zip(name: str, data: bytes, depth: int, out: list[Reason]) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        out.append(
            Reason("attachments.broken_archive", 1.0, f"{name}: unreadable zip", kind="malware")
        )
        return
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if (
        len(infos) > MAX_MEMBERS
        or total > BOMB_SIZE
        or (total > 10_000_000 and total / packed > BOMB_RATIO)
    ):
        out.append(
            Reason(
                "attachments.zip_bomb",
                6.0,
                f"{name}: {len(infos)} members expanding to {total:,} bytes",
                kind="malware",
            )
        )
        return
    names = [i.filename for i in infos]
    if any(n.startswith(("word/", "xl/", "ppt/")) for n in names):
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            hit = _macros(name, data)
            out.append(
                hit
                or Reason(
                    "attachments.office_macro", 5.0, f"{name} carries a VBA project", kind="malware"
                )
            )
        return
    if any(i.flag_bits & 0x1 for i in infos):
        out.append(
            Reason(
                "attachments.encrypted_archive",
                4.0,
                f"{name}: password-protected archive (scanners cannot look inside)",
                kind="malware",
            )
        )
        return
    for info in infos[:MAX_MEMBERS]:
        ext = _ext(info.filename)
        if ext in DANGEROUS_EXT:
            out.append(
                Reason(
                    "attachments.archive_executable",
                    8.0,
                    f"{name} contains {info.filename}",
                    kind="malware",
                )
            )
            return
        if (
            depth < MAX_ARCHIVE_DEPTH
            and info.file_size < 20_000_000
            and (ext in ("zip", "jar", "docm", "xlsm") or info.file_size < 5_000_000)
        ):
            try:
                inner = zf.read(info)
            except Exception:  # noqa: S112 - an unreadable member is judged by its name alone
                continue
            kind = sniff(inner)
            if kind in ("exe", "elf", "macho"):
                out.append(
                    Reason(
                        "attachments.archive_executable",
                        8.0,
                        f"{name} contains a program ({info.filename})",
                        kind="malware",
                    )
                )
                return
            if kind == "zip":
                _zip(f"{name}/{info.filename}", inner, depth + 1, out)
            elif is_page(info.filename, "", inner):
                # A zipped login page: the archive only hides it from a look at the mail.
                _html(f"{name}/{info.filename}", inner, out)


def _html(name: str, data: bytes, out: list[Reason]) -> None:
    text = page_markup(data)
    if _SMUGGLE_RE.search(text) and ("base64" in text.lower() or len(text) > 50_000):
        out.append(
            Reason(
                "attachments.html_smuggling",
                7.0,
                f"{name} builds a file in the browser (HTML smuggling)",
                kind="malware",
            )
        )
    if FORM_RE.search(text):
        pw = has_password_input(text)
        out.append(
            Reason(
                "attachments.credential_page",
                6.0 if pw else 3.0,
                f"{name} is a page with a form" + (" asking for a password" if pw else ""),
            )
        )
    elif _REDIRECT_RE.search(text):
        out.append(Reason("attachments.html_redirect", 3.0, f"{name} redirects the browser"))


def _one(att: Attachment, ctx: AnalysisContext, out: list[Reason]) -> None:
    name = att.filename or f"({att.content_type})"
    kind = sniff(att.data)
    ext = _ext(att.filename)
    if kind in ("exe", "elf", "macho"):
        out.append(
            Reason("attachments.executable", 9.0, f"{name} is a program ({kind})", kind="malware")
        )
    elif ext in DANGEROUS_EXT or kind == "iso":
        out.append(
            Reason(
                "attachments.dangerous_type",
                6.0,
                f"{name}: {('disk image' if kind == 'iso' else '.' + ext)} files run code",
                kind="malware",
            )
        )
    # An attachment fact, not the message's malformation (``malformed`` is a learned finding
    # that phishing_pot's broken MIME taught to weigh heavily): a small, unlearned score that
    # tells the operator the file's links were not checked.
    if att.pdf is not None and att.pdf.error:
        out.append(
            Reason(
                "attachments.pdf_unreadable",
                1.0,
                f"{name}: {att.pdf.error}; its links and pictures were not checked",
                kind="malware",
            )
        )
    if att.office is not None:
        for relation, target in att.office.remote[:1]:
            follina = relation == "oleObject" or target.lower().startswith("mhtml:")
            out.append(
                Reason(
                    "attachments.remote_object" if follina else "attachments.remote_template",
                    7.0 if follina else 5.0,
                    f"{name} fetches {target[:200]} when opened ({relation})",
                    kind="malware",
                )
            )
        if att.office.error:
            out.append(
                Reason(
                    "attachments.office_unreadable",
                    1.0,
                    f"{name}: {att.office.error}; its links were not checked",
                    kind="malware",
                )
            )
    if att.pdf is not None and att.pdf.encrypted:  # the parser read it (header in the first KB)
        out.append(
            Reason(
                "attachments.encrypted_pdf",
                3.0,
                f"{name}: password-protected PDF (scanners cannot look inside)",
                kind="malware",
            )
        )
    if re.search(r"\.(pdf|docx?|xlsx?|jpe?g|png|txt)\.\w{2,4}$", att.filename.lower()) and (
        ext in DANGEROUS_EXT or ext in ("html", "htm", "zip")
    ):
        out.append(Reason("attachments.double_extension", 4.0, f"{name} hides its real type"))
    if kind == "zip":
        _zip(name, att.data, 0, out)
    elif kind == "ole" or (ext in _OFFICE_EXT and kind != "zip"):
        hit = _macros(att.filename, att.data)
        if hit:
            out.append(hit)
    elif is_page(att.filename, att.content_type, att.data):
        _html(name, att.data, out)
    elif kind == "pdf":
        head = att.data[:3_000_000]
        if b"/JavaScript" in head or b"/Launch" in head:
            out.append(
                Reason(
                    "attachments.pdf_active",
                    3.0,
                    f"{name} runs JavaScript or a program",
                    kind="malware",
                )
            )
    elif kind in ("rar", "7z") and ext not in ("rar", "7z"):
        out.append(
            Reason(
                "attachments.disguised_archive", 3.0, f"{name} is a {kind} archive", kind="malware"
            )
        )
    if ctx.indicator_index is not None:
        try:
            matches = ctx.indicator_index.lookup_hash(att.sha256)
        except Exception:
            matches = []
        if matches:
            out.append(
                Reason(
                    "intel.file_hash",
                    10.0,
                    f"{name} matches indicator {matches[0].name!r}",
                    kind="malware",
                )
            )
    if att.sha256 in ctx.blocklist:
        out.append(
            Reason(
                "intel.blocklist_hash", 10.0, f"{name} is on the local blocklist", kind="malware"
            )
        )


def analyse(msg: ParsedMessage, env: Envelope, ctx: AnalysisContext) -> list[Reason]:
    out: list[Reason] = []
    for att in msg.attachments[:50]:
        _one(att, ctx, out)
    best: dict[str, Reason] = {}
    for r in out:
        if r.name not in best or r.score > best[r.name].score:
            best[r.name] = r
    return list(best.values())
