"""Links: shown text vs. real target, IP and shortened URLs, look-alike hosts, credential forms,
QR codes in images and in PDFs' pictures and drawings (zxing-cpp), and every URL (the message's
own and those its attachments carry: PDF link annotations, Office hyperlinks, the addresses in
attached or zipped web pages), domain, IP and the sender checked against the ISAC indicator
index and the local blocklist. A reason about a link found in an attachment names the file."""

from __future__ import annotations

import io
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from portguard.mail import pdf
from portguard.mail.analysers.base import (
    FORM_RE,
    AnalysisContext,
    Envelope,
    has_password_input,
    lookalike_of,
    registered_domain,
)
from portguard.mail.links_util import host_of
from portguard.mail.parse import Link, ParsedMessage, text_links
from portguard.mail.schemas import Reason

__all__ = ["SHORTENERS", "analyse", "decode_qr", "host_of"]

SHORTENERS = frozenset(
    [
        "bit.ly",
        "tinyurl.com",
        "t.co",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "tiny.cc",
        "rb.gy",
        "t.ly",
        "s.id",
        "v.gd",
        "bl.ink",
        "short.io",
        "lnkd.in",
        "qrco.de",
    ]
)
_DOMAINISH = re.compile(r"^(?:https?://)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)(?:[/:?#]|$)", re.I)
MAX_CHECKED = 50
#: Places anyone can host a page: a login page there is the phisher's, not the brand's.
HOSTING = frozenset(
    [
        "s3.amazonaws.com",
        "storage.googleapis.com",
        "firebasestorage.googleapis.com",
        "web.app",
        "firebaseapp.com",
        "r2.dev",
        "blob.core.windows.net",
        "web.core.windows.net",
        "script.google.com",
        "ipfs.io",
        "dweb.link",
        "pages.dev",
        "workers.dev",
        "glitch.me",
        "herokuapp.com",
        "netlify.app",
        "vercel.app",
        "000webhostapp.com",
        "weebly.com",
        "wixsite.com",
        "square.site",
        "forms.gle",
        "docs.google.com",
        "sites.google.com",
        "typeform.com",
        "jotform.com",
        "github.io",
        "azurewebsites.net",
        "ngrok.io",
        "ngrok-free.app",
        "trycloudflare.com",
        "repl.co",
        "myshopify.com",
        "blogspot.com",
    ]
)
_DIGIT = re.compile(r"\d")
_CHAT_RE = re.compile(r"(wa\.me/|api\.whatsapp\.com/send|t\.me/|telegram\.me/)", re.I)


def _ip(host: str) -> str | None:
    if ":" not in host and not _DIGIT.search(host):
        return None  # a name (most hosts): no address has neither a digit nor a colon
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if re.fullmatch(r"(0x[0-9a-f]+|\d{8,10})", host):  # dword / hex-encoded IPv4
        return host
    return None


#: Images larger than this (pixels) are not decoded: a QR code meant for a phone camera is
#: small, and a decompression bomb must not be loaded.
QR_MAX_PIXELS = 25_000_000
#: Images per message decoded for QR codes (a newsletter has dozens of pictures).
QR_MAX_IMAGES = 10


def decode_qr(data: bytes) -> list[str]:
    """Texts of the QR codes in an image ([] for anything that is not a readable image)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes on odd palettes
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > QR_MAX_PIXELS:
                return []
            return _qr_texts(img)
    except Exception:
        return []


def _qr_texts(img: Any) -> list[str]:
    """Texts of the QR codes in a Pillow image."""
    import zxingcpp

    try:
        img.thumbnail((1600, 1600))
        found = zxingcpp.read_barcodes(
            img.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
    except Exception:
        return []
    return [b.text for b in found if b.valid][:10]


def _qr_links(msg: ParsedMessage) -> list[Link]:
    """Links in the QR codes of the message's pictures and of its PDFs' first pages."""
    out: list[Link] = []
    budget = QR_MAX_IMAGES
    for att in msg.attachments:
        if budget <= 0:
            break
        if att.content_type.startswith("image/") and att.pdf is None:
            if len(att.data) >= 5_000_000:
                continue
            budget -= 1
            texts = decode_qr(att.data)
        elif att.pdf is not None and (att.pdf.pictures or att.pdf.drawings):
            texts = []
            for img in pdf.images(att.data):
                budget -= 1
                texts += _qr_texts(img)
                if budget <= 0:
                    break
        else:
            continue
        for text in texts:
            out += [Link(lk.url, "", att.filename) for lk in text_links(text)]
    return out


def _index_hits(ctx: AnalysisContext, kind: str, value: str) -> list[Reason]:
    out: list[Reason] = []
    if value.lower() in ctx.blocklist:
        out.append(Reason(f"intel.blocklist_{kind}", 8.0, f"{value} is on the local blocklist"))
    idx = ctx.indicator_index
    if idx is None:
        return out
    try:
        matches = idx.lookup(kind, value)
    except Exception:
        return out
    for m in matches[:1]:
        score = 8.0 if m.block else 1.5
        out.append(
            Reason(
                f"intel.{kind}",
                score,
                f"{value} matches indicator {m.name!r} ({m.how}"
                f"{', warninglisted' if not m.block else ''})",
            )
        )
    return out


def _in(link: Link) -> str:
    """Where a link was found, for a reason's detail: " (in invoice.pdf)" or ""."""
    return f" (in {link.where[:80]})" if link.where else ""


def _under(host: str, names: frozenset[str]) -> bool:
    """``host`` is one of ``names`` or a subdomain of one."""
    labels = host.split(".")
    return any(".".join(labels[i:]) in names for i in range(len(labels)))


def analyse(msg: ParsedMessage, env: Envelope, ctx: AnalysisContext) -> list[Reason]:
    reasons: list[Reason] = []
    qr = _qr_links(msg)
    for link in qr:
        reasons.append(Reason("links.qr_code", 2.0, f"QR code points to {link.url}{_in(link)}"))
    # Hidden links first (QR codes; the PDFs' lead ``msg.links``): a body padded with links must
    # not push them past the checks' limits.
    links: list[Link] = qr + msg.links
    seen_hosts: set[str] = set()
    host_facts: dict[str, tuple[bool, bool, bool]] = {}
    mismatch = ip_url = short = userinfo = 0
    first: dict[str, str] = {}
    for link in links[:200]:
        url = link.url
        low = url.lower()
        if low.startswith(("mailto:", "tel:", "#", "cid:")):
            continue
        host = host_of(url)
        if not host:
            continue
        if link.text:
            m = _DOMAINISH.match(link.text.strip())
            if m and "." in m.group(1) and not m.group(1)[-1].isdigit():
                shown = m.group(1).lower()
                if registered_domain(shown) != registered_domain(host) and not _ip(shown):
                    mismatch += 1
                    first.setdefault("mismatch", f"shows {shown} but goes to {host}")
        facts = host_facts.get(host)
        if facts is None:  # a newsletter links to the same few hosts a hundred times
            facts = host_facts[host] = (
                bool(_ip(host)),
                registered_domain(host) in SHORTENERS or host in SHORTENERS,
                _under(host, HOSTING),
            )
        is_ip, is_short, is_hosting = facts
        if is_ip:
            ip_url += 1
            first.setdefault("ip", url[:200] + _in(link))
        if is_short:
            short += 1
            first.setdefault("short", url[:200] + _in(link))
        if "@" in url and "@" in (urlsplit(url if "://" in url else "http://" + url).netloc or ""):
            userinfo += 1
            first.setdefault("userinfo", url[:200] + _in(link))
        if is_hosting:
            first.setdefault("hosting", url[:200] + _in(link))
        if _CHAT_RE.search(url):
            first.setdefault("chat", url[:200] + _in(link))
        seen_hosts.add(host)
    if "hosting" in first:
        reasons.append(
            Reason(
                "links.hosted_page",
                2.5,
                f"link to a page on a public hosting service: {first['hosting']}",
            )
        )
    if "chat" in first:
        reasons.append(
            Reason("links.chat_contact", 2.0, f"asks to continue on a chat app: {first['chat']}")
        )
    if mismatch:
        reasons.append(Reason("links.text_mismatch", 3.0 + min(mismatch - 1, 2), first["mismatch"]))
    if ip_url:
        reasons.append(Reason("links.ip_url", 2.5, f"link to a bare IP address: {first['ip']}"))
    if short:
        reasons.append(Reason("links.shortener", 1.0, f"shortened link: {first['short']}"))
    if userinfo:
        reasons.append(Reason("links.userinfo", 3.0, f"user-info trick in {first['userinfo']}"))
    for host in sorted(seen_hosts)[:MAX_CHECKED]:
        hit = lookalike_of(host, ctx)
        if hit:
            reasons.append(
                Reason("links.lookalike_host", 5.0, f"{host} imitates {hit[0]} ({hit[1]})")
            )
            break
    # Forms that post credentials, in the body (attachments are the attachment analyser's).
    if msg.html and FORM_RE.search(msg.html):
        pw = has_password_input(msg.html)
        reasons.append(
            Reason(
                "links.html_form",
                4.0 if pw else 1.5,
                "the message contains a form" + (" asking for a password" if pw else ""),
            )
        )
    # Indicator index and blocklist: URLs, hosts/IPs, the sender.
    intel: list[Reason] = []
    for link in links[:MAX_CHECKED]:
        if link.url.lower().startswith(("http://", "https://")):
            intel += _index_hits(ctx, "url", link.url)
    for host in sorted(seen_hosts)[:MAX_CHECKED]:
        intel += _index_hits(ctx, "ip" if _ip(host) else "domain", host)
    if msg.from_addr:
        intel += _index_hits(ctx, "email", msg.from_addr)
        if msg.from_domain:
            intel += _index_hits(ctx, "domain", msg.from_domain)
    if env.client_ip:
        intel += _index_hits(ctx, "ip", env.client_ip)
    best: dict[str, Reason] = {}
    for r in intel:
        if r.name not in best or r.score > best[r.name].score:
            best[r.name] = r
    reasons += best.values()
    return reasons
