# ruff: noqa: E501  (templates: long lines of text are data)
"""A generator of realistic, modern, legitimate port business mail in English, Dutch and French.

The shared corpora hold no Dutch and almost no French legitimate mail, and little modern business
mail; false positives on today's port mail are measured on what this writes instead. Messages are
built from templates of the port's real business (bookings, ETAs, berth planning, customs,
invoices, container releases, meetings, newsletters), with varied senders, companies, vessels and
formatting (plain text, HTML alternative, PDF attachment, signatures, disclaimers).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

COMPANIES = [
    ("MSC Belgium", "msc.com"),
    ("Maersk", "maersk.com"),
    ("CMA CGM", "cma-cgm.com"),
    ("Katoen Natie", "katoennatie.com"),
    ("PSA Antwerp", "psa-antwerp.be"),
    ("DP World Antwerp", "dpworld.com"),
    ("Hapag-Lloyd", "hlag.com"),
    ("Euroports", "euroports.com"),
    ("Sea-Invest", "sea-invest.com"),
    ("Brabo Pilots", "brabo.be"),
    ("Kotug", "kotug.com"),
    ("Boluda Towage", "boluda.eu"),
    ("Ahlers", "ahlers.com"),
    ("Kuehne+Nagel", "kuehne-nagel.com"),
    ("DHL Global Forwarding", "dhl.com"),
    ("Transport Van Moer", "vanmoer.com"),
    ("H.Essers", "essers.com"),
    ("Lineas", "lineas.net"),
    ("Port of Antwerp-Bruges", "portofantwerpbruges.com"),
    ("Agentschap MDK", "mdk.be"),
    ("Douane", "minfin.fed.be"),
    ("BASF Antwerpen", "basf.com"),
    ("Bureau Veritas", "bureauveritas.com"),
]
FIRST = [
    "Jan",
    "Els",
    "Pieter",
    "Sofie",
    "Koen",
    "An",
    "Wim",
    "Lotte",
    "Marc",
    "Julie",
    "Thomas",
    "Camille",
    "Nicolas",
    "Isabelle",
    "Ahmed",
    "Fatima",
    "Lars",
    "Anna",
    "David",
    "Sarah",
]
LAST = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Dupont",
    "Van den Broeck",
    "El Amrani",
]
VESSELS = [
    "MSC GULSUN",
    "MAERSK ESSEN",
    "CMA CGM JACQUES SAADE",
    "EVER GIVEN",
    "HMM ALGECIRAS",
    "ONE APUS",
    "COSCO SHIPPING ARIES",
    "MOL TRIUMPH",
    "NORTHSEA LIBERTY",
    "SCHELDE TRADER",
]
TERMINALS = [
    "MPET Deurganckdok",
    "PSA Noordzee Terminal",
    "DP World Antwerp Gateway",
    "Antwerp Euroterminal",
    "Zeebrugge CSP terminal",
    "Kallo lock",
]

T = {
    "en": [
        (
            "Booking confirmation {ref} - {vessel}",
            "Dear {to_first},\n\nPlease find attached the booking confirmation {ref} for {n} x 40' HC "
            "on {vessel}, ETA {terminal} {date}.\nCut-off for VGM submission is {date2} 12:00.\n\n"
            "Kind regards,\n{from_name}\n{company}",
        ),
        (
            "ETA update {vessel}",
            "Hello all,\n\n{vessel} is now expected at {terminal} on {date} at 06:00 (was {date2}). "
            "Pilot ordered via the pilot booking system. Berth window confirmed.\n\nBest regards,\n"
            "{from_name}\nOperations | {company}",
        ),
        (
            "Invoice {ref} - terminal handling charges",
            "Dear customer,\n\nPlease find attached invoice {ref} for terminal handling charges of "
            "{amount} EUR, due within 30 days. Payment to our usual account as stated on the invoice."
            "\nFor questions, reply to this e-mail or call our finance desk.\n\nRegards,\n{from_name}"
            "\nAccounts receivable, {company}",
        ),
        (
            "Container {container} released for pickup",
            "Dear {to_first},\n\nContainer {container} has been released by customs and the shipping "
            "line. The release is available in the port community system; your trucker can pick it up "
            "at {terminal} from {date}.\n\n{from_name}\n{company}",
        ),
        (
            "Meeting next week: berth planning Q{q}",
            "Hi {to_first},\n\nCould we meet on {date} at 10:00 to go through the berth planning for "
            "Q{q}? I have booked a room at the Havenhuis; a Teams link is below for colleagues who "
            "join remotely.\n\nThanks,\n{from_name}",
        ),
        (
            "Customs declaration {ref}",
            "Dear {to_first},\n\nThe import declaration {ref} for {n} containers on {vessel} was "
            "accepted. MRN attached. Please let us know if you need the T1 documents as well.\n\n"
            "Kind regards,\n{from_name}\nCustoms brokerage, {company}",
        ),
    ],
    "nl": [
        (
            "Bevestiging boeking {ref} - {vessel}",
            "Beste {to_first},\n\nIn bijlage vind je de boekingsbevestiging {ref} voor {n} x 40' HC "
            "op de {vessel}, verwachte aankomst {terminal} op {date}.\nDe VGM-deadline is {date2} om "
            "12u.\n\nMet vriendelijke groeten,\n{from_name}\n{company}",
        ),
        (
            "Update ETA {vessel}",
            "Dag iedereen,\n\nDe {vessel} wordt nu verwacht aan {terminal} op {date} om 06u00 (was "
            "{date2}). De loods is besteld. Ligplaats bevestigd.\n\nGroeten,\n{from_name}\n{company}",
        ),
        (
            "Factuur {ref} - behandelingskosten",
            "Geachte klant,\n\nIn bijlage vindt u factuur {ref} voor behandelingskosten van {amount} "
            "EUR, te betalen binnen 30 dagen op het gebruikelijke rekeningnummer vermeld op de factuur."
            "\nMet vragen kan u terecht bij onze boekhouding.\n\nMet vriendelijke groet,\n{from_name}\n"
            "{company}",
        ),
        (
            "Container {container} vrijgegeven",
            "Beste {to_first},\n\nContainer {container} is vrijgegeven door douane en rederij. De "
            "vrijgave staat in het port community systeem; de chauffeur kan hem vanaf {date} ophalen "
            "aan {terminal}.\n\n{from_name}\n{company}",
        ),
        (
            "Overleg ligplaatsplanning Q{q}",
            "Hallo {to_first},\n\nKunnen we op {date} om 10u afspreken om de ligplaatsplanning voor "
            "Q{q} te overlopen? Ik heb een zaal gereserveerd in het Havenhuis, Teams-link volgt.\n\n"
            "Bedankt,\n{from_name}",
        ),
        (
            "Douaneaangifte {ref}",
            "Beste {to_first},\n\nDe invoeraangifte {ref} voor {n} containers op de {vessel} is "
            "aanvaard. MRN in bijlage. Laat gerust weten of je ook de T1-documenten nodig hebt.\n\n"
            "Vriendelijke groeten,\n{from_name}\n{company}",
        ),
    ],
    "fr": [
        (
            "Confirmation de réservation {ref} - {vessel}",
            "Bonjour {to_first},\n\nVeuillez trouver ci-joint la confirmation de réservation {ref} "
            "pour {n} x 40' HC sur le {vessel}, arrivée prévue à {terminal} le {date}.\nLa date "
            "limite VGM est le {date2} à 12h.\n\nCordialement,\n{from_name}\n{company}",
        ),
        (
            "Mise à jour ETA {vessel}",
            "Bonjour à tous,\n\nLe {vessel} est désormais attendu à {terminal} le {date} à 6h00 "
            "(au lieu du {date2}). Le pilote est commandé, le poste à quai est confirmé.\n\n"
            "Bien à vous,\n{from_name}\n{company}",
        ),
        (
            "Facture {ref} - frais de manutention",
            "Madame, Monsieur,\n\nVeuillez trouver ci-joint la facture {ref} pour des frais de "
            "manutention de {amount} EUR, payable à 30 jours sur le compte habituel indiqué sur la "
            "facture.\n\nCordialement,\n{from_name}\nComptabilité, {company}",
        ),
        (
            "Conteneur {container} libéré",
            "Bonjour {to_first},\n\nLe conteneur {container} a été libéré par la douane et "
            "l'armateur. Votre transporteur peut l'enlever à {terminal} à partir du {date}.\n\n"
            "{from_name}\n{company}",
        ),
        (
            "Réunion planning des quais T{q}",
            "Bonjour {to_first},\n\nPouvons-nous nous voir le {date} à 10h pour revoir le planning "
            "des quais du T{q} ? J'ai réservé une salle à la Maison du Port; lien Teams pour ceux "
            "qui se connectent à distance.\n\nMerci,\n{from_name}",
        ),
    ],
}

DISCLAIMER = {
    "en": "This e-mail and any attachments are confidential and intended solely for the addressee.",
    "nl": "Deze e-mail en eventuele bijlagen zijn vertrouwelijk en uitsluitend bestemd voor de "
    "geadresseerde.",
    "fr": "Ce courriel et ses pièces jointes sont confidentiels et destinés exclusivement à leur "
    "destinataire.",
}


def generate(n: int, seed: int = 7, part: str = "all") -> list[bytes]:
    """``n`` messages. ``part`` picks halves: "train" (the even-numbered templates, companies,
    names, vessels and terminals), "eval" (the odd-numbered), "all". A model trained on "train"
    is judged on "eval": kinds of mail it has never seen, from companies and people it has
    never seen (only the language's disclaimer is shared)."""
    rnd = random.Random(seed)  # noqa: S311 (sample text, not secrets)
    keep = {"train": 0, "eval": 1}.get(part)

    def half(pool: list[Any]) -> list[Any]:
        return pool if keep is None else pool[keep::2]

    companies, first, last = half(COMPANIES), half(FIRST), half(LAST)
    vessels, terminals = half(VESSELS), half(TERMINALS)
    out = []
    base = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for i in range(n):
        lang = rnd.choice(["en", "en", "nl", "nl", "fr"])
        choices = [t for i, t in enumerate(T[lang]) if keep is None or i % 2 == keep]
        subj_t, body_t = rnd.choice(choices)
        company, dom = rnd.choice(companies)
        _, to_dom = rnd.choice(companies)
        ff, fl = rnd.choice(first), rnd.choice(last)
        tf, tl = rnd.choice(first), rnd.choice(last)
        when = base + timedelta(hours=rnd.randint(0, 24 * 200))
        vals = {
            "ref": f"{rnd.choice(['BK', 'INV', 'ANR', 'MRN'])}{rnd.randint(100000, 999999)}",
            "vessel": rnd.choice(vessels),
            "terminal": rnd.choice(terminals),
            "date": (when + timedelta(days=rnd.randint(1, 9))).strftime("%d/%m/%Y"),
            "date2": (when + timedelta(days=rnd.randint(0, 5))).strftime("%d/%m/%Y"),
            "n": rnd.randint(1, 40),
            "amount": f"{rnd.randint(200, 90000):,}".replace(",", "."),
            "container": f"{rnd.choice(['MSCU', 'MAEU', 'CMAU', 'HLXU'])}{rnd.randint(1000000, 9999999)}",
            "q": rnd.randint(1, 4),
            "to_first": tf,
            "from_name": f"{ff} {fl}",
            "company": company,
        }
        body = body_t.format(**vals)
        if rnd.random() < 0.6:
            body += (
                f"\n\n{ff} {fl}\nT +32 3 {rnd.randint(200, 999)} {rnd.randint(10, 99)} "
                f"{rnd.randint(10, 99)}\nhttps://www.{dom}\n\n{DISCLAIMER[lang]}"
            )
        msg = EmailMessage()
        user = f"{ff}.{fl}".lower().replace(" ", "")
        msg["From"] = f"{ff} {fl} <{user}@{dom}>"
        msg["To"] = f"{tf} {tl} <{tf.lower()}.{tl.lower().replace(' ', '')}@{to_dom}>"
        msg["Subject"] = subj_t.format(**vals)
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = make_msgid(domain=dom)
        msg.set_content(body)
        if rnd.random() < 0.5:
            paras = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in body.split("\n\n"))
            msg.add_alternative(
                f'<html><body style="font-family:Calibri">{paras}'
                f'<p><a href="https://www.{dom}/">www.{dom}</a></p></body></html>',
                subtype="html",
            )
        if rnd.random() < 0.4:
            msg.add_attachment(
                pdf_document(
                    [f"{ff} {fl}", msg["Subject"], f"Reference {vals['ref']}"],
                    f"https://www.{dom}/",
                ),
                maintype="application",
                subtype="pdf",
                filename=f"{vals['ref']}.pdf",
            )
        out.append(bytes(msg))
    return out


def pdf_document(lines: list[str], url: str) -> bytes:
    """A small, valid one-page PDF: the lines in Helvetica and a link to ``url`` in the
    footer, as a company's invoice or notice carries (readers and pypdf open it)."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = "".join(
        f"BT /F1 12 Tf 60 {780 - 20 * i} Td ({esc(line)}) Tj ET\n" for i, line in enumerate(lines)
    )
    ops += f"BT /F1 9 Tf 60 40 Td ({esc(url)}) Tj ET\n"
    content = ops.encode("cp1252", "replace")
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>/Annots[6 0 R]>>",
        b"<</Length %d>>stream\n" % len(content) + content + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
        b"<</Type/Annot/Subtype/Link/Rect[60 36 300 52]/Border[0 0 0]"
        b"/A<</S/URI/URI(" + esc(url).encode("latin-1", "replace") + b")>>>>",
    ]
    return pdf_file(objects)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (numbered from 1, the first the catalogue) with a correct
    cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
