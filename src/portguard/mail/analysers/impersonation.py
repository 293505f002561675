"""Impersonation: display-name spoofing, look-alike sender domains, Reply-To mismatch, and
business e-mail compromise (BEC) wording in English, Dutch and French, in the mail and in the
text of its PDF attachments."""

from __future__ import annotations

import re

from portguard.mail.analysers.base import (
    AnalysisContext,
    Envelope,
    lookalike_of,
    registered_domain,
)
from portguard.mail.parse import ParsedMessage, domain_of
from portguard.mail.schemas import Reason

__all__ = ["BEC_PATTERNS", "FREEMAIL", "analyse"]

FREEMAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.fr",
        "aol.com",
        "icloud.com",
        "me.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "mail.com",
        "proton.me",
        "protonmail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "zoho.com",
        "telenet.be",
        "skynet.be",
        "proximus.be",
        "hotmail.be",
        "hotmail.fr",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "web.de",
    ]
)

#: (name, score, pattern): each a family of BEC wording; EN, NL and FR in one expression.
BEC_PATTERNS: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    (
        "bec.urgent_payment",
        2.0,
        re.compile(
            r"\b(urgent(ly)?\s+(wire|payment|transfer)|wire\s+transfer\s+today|"
            r"process\s+(a|the|this)\s+payment|dringende?\s+(betaling|overschrijving)|"
            r"vandaag\s+nog\s+(betalen|overmaken|overschrijven)|"
            r"paiement\s+urgent|virement\s+urgent|effectuer\s+un\s+virement)",
            re.I,
        ),
    ),
    (
        "bec.bank_change",
        3.0,
        re.compile(
            r"\b((new|updated|changed?)\s+(bank(ing)?\s+(details|account)|iban|account\s+details)|"
            r"(bank(ing)?\s+(details|account)|iban)\s+(ha(s|ve)\s+)?(changed|been\s+updated)|"
            r"nieuwe?\s+(bankgegevens|rekeningnummer|iban)|(bankgegevens|rekeningnummer)\s+"
            r"(is|zijn)\s+gewijzigd|"
            r"nouvel(le)?s?\s+(coordonn[ée]es\s+bancaires|rib|iban)|changement\s+de\s+"
            r"(rib|coordonn[ée]es\s+bancaires))",
            re.I,
        ),
    ),
    # Asking for a container release PIN by e-mail: since Antwerp-Bruges moved releases to
    # Certified Pick-up, PINs are not sent by mail at all, so the request alone is a strong
    # sign (from a free mailbox it blocks on its own: 4.5 x 1.5).
    (
        "bec.release_pin",
        4.5,
        re.compile(
            r"\b((container\s+)?(release|pickup|pick-up)\s+(pin|code)s?|pin\s*codes?\s+(for|of)\s+"
            r"(the\s+)?containers?|vrijgave\s*(code|pin)s?|pincodes?\s+(van|voor)\s+(de\s+)?"
            r"containers?|codes?\s+(de\s+)?(lib[ée]ration|retrait)|code\s+pin\s+(du|des)\s+"
            r"conteneurs?)",
            re.I,
        ),
    ),
    (
        "bec.secrecy",
        1.0,
        re.compile(
            r"\b(keep\s+this\s+(confidential|between\s+us)|i\s+am\s+in\s+a\s+meeting|"
            r"are\s+you\s+(at\s+your\s+desk|available)\s*\?|strikt\s+vertrouwelijk|"
            r"ben\s+je\s+beschikbaar|en\s+r[ée]union|restez\s+discret|strictement\s+confidentiel)",
            re.I,
        ),
    ),
    (
        "bec.credentials",
        2.0,
        re.compile(
            r"\b(verify\s+your\s+(account|identity|mailbox|password)|your\s+(password|mailbox)\s+"
            r"(will\s+)?expire|confirm\s+your\s+(account|password|login)|"
            r"account\s+(has\s+been\s+)?(suspended|locked|limited)|"
            r"bevestig\s+uw\s+(account|wachtwoord|identiteit)|wachtwoord\s+verloopt|"
            r"v[ée]rifiez\s+votre\s+(compte|identit[ée])|votre\s+mot\s+de\s+passe\s+expire|"
            r"compte\s+(a\s+[ée]t[ée]\s+)?(suspendu|bloqu[ée]))",
            re.I,
        ),
    ),
)

#: Brands phishing imitates most; named in a display name or subject but sent from elsewhere.
BRANDS: dict[str, tuple[str, ...]] = {
    "paypal": ("paypal.com",),
    "microsoft": ("microsoft.com", "office.com", "live.com", "outlook.com", "sharepoint.com"),
    "office 365": ("microsoft.com", "office.com"),
    "outlook": ("microsoft.com", "outlook.com"),
    "onedrive": ("microsoft.com",),
    "apple": ("apple.com", "icloud.com"),
    "icloud": ("apple.com", "icloud.com"),
    "amazon": ("amazon.com", "amazon.de", "amazon.fr", "amazon.nl", "amazon.co.uk"),
    "netflix": ("netflix.com",),
    "dhl": ("dhl.com", "dhl.de", "dhl.be"),
    "fedex": ("fedex.com",),
    "ups": ("ups.com",),
    "bpost": ("bpost.be",),
    "postnl": ("postnl.nl",),
    "norton": ("norton.com", "nortonlifelock.com"),
    "mcafee": ("mcafee.com",),
    "docusign": ("docusign.com", "docusign.net"),
    "dropbox": ("dropbox.com",),
    "wetransfer": ("wetransfer.com",),
    "adobe": ("adobe.com",),
    "ebay": ("ebay.com",),
    "wells fargo": ("wellsfargo.com",),
    "chase": ("chase.com",),
    "bank of america": ("bankofamerica.com",),
    "kbc": ("kbc.be", "kbc.com"),
    "belfius": ("belfius.be",),
    "ing": ("ing.be", "ing.com", "ing.nl"),
    "bnp": ("bnpparibas",),
    "itsme": ("itsme.be", "itsme-id.com"),
    "metamask": ("metamask.io",),
    "coinbase": ("coinbase.com",),
    "binance": ("binance.com",),
    "maersk": ("maersk.com",),
    "msc": ("msc.com",),
    "webmail": (),
    "mailbox": (),
    "helpdesk": (),
    "it support": (),
}
_BRAND_RE = re.compile(r"\b(" + "|".join(re.escape(b) for b in BRANDS) + r")\b", re.I)

#: Words without which a BEC pattern cannot match (lower case), to skip the regex quickly.
#: The BEC expressions without re.I, searched in the lower-cased text (40% faster; their
#: literal text is lower case).
_BEC_LOWER = {rule: re.compile(p.pattern) for rule, _, p in BEC_PATTERNS}
_BEC_WORDS: dict[str, tuple[str, ...]] = {
    "bec.urgent_payment": (
        "urgent",
        "wire",
        "payment",
        "betal",
        "overma",
        "overschrij",
        "paiement",
        "virement",
    ),
    "bec.bank_change": ("bank", "iban", "rekening", "rib", "bancaire"),
    "bec.release_pin": ("pin", "code", "vrijgave"),
    "bec.secrecy": (
        "confidential",
        "meeting",
        "desk",
        "available",
        "vertrouwelijk",
        "beschikbaar",
        "union",
        "discret",
        "confidentiel",
    ),
    "bec.credentials": (
        "verify",
        "password",
        "mailbox",
        "confirm",
        "account",
        "bevestig",
        "wachtwoord",
        "rifiez",
        "mot de passe",
        "compte",
    ),
}

_ADDR_IN_NAME = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def analyse(msg: ParsedMessage, env: Envelope, ctx: AnalysisContext) -> list[Reason]:
    reasons: list[Reason] = []
    from_dom = msg.from_domain
    external = not from_dom or not ctx.is_protected(from_dom)
    name = msg.from_name.lower()

    # Display name naming a protected domain / another address / a VIP, from outside.
    if external and name:
        m = _ADDR_IN_NAME.search(name)
        if m and registered_domain(m.group(1)) != registered_domain(from_dom):
            score = 4.0 if ctx.is_protected(m.group(1)) else 2.0
            reasons.append(
                Reason("impersonation.display_address", score, f"display name shows {m.group(0)}")
            )
        elif any(label in name.replace(" ", "") for label in ctx.protected_labels):
            reasons.append(
                Reason(
                    "impersonation.display_name",
                    3.0,
                    f"display name {msg.from_name!r} "
                    f"names a protected organisation, sent from {from_dom or 'nowhere'}",
                )
            )
        if any(v in name for v in ctx.vips):
            score = 4.0 if from_dom in FREEMAIL else 3.0
            reasons.append(
                Reason("impersonation.vip", score, f"{msg.from_name!r} sent from {from_dom}")
            )

    # A well-known brand (or "webmail", "helpdesk") in the display name, sent from elsewhere.
    bm = _BRAND_RE.search(msg.from_name)
    if bm and from_dom:
        owners = BRANDS[bm.group(1).lower()]
        if not any(from_dom == o or from_dom.endswith("." + o) or o in from_dom for o in owners):
            score = 3.5 if from_dom in FREEMAIL else 2.5
            reasons.append(
                Reason(
                    "impersonation.brand",
                    score,
                    f"display name {msg.from_name!r} but sent from {from_dom}",
                )
            )

    # Look-alike domains in From, Reply-To, envelope sender.
    for where, dom in (
        ("from", from_dom),
        ("reply_to", domain_of(msg.reply_to)),
        ("sender", domain_of(env.mail_from)),
    ):
        hit = lookalike_of(dom, ctx) if dom else None
        if hit:
            reasons.append(
                Reason(
                    f"impersonation.lookalike_{where}", 6.0, f"{dom} imitates {hit[0]} ({hit[1]})"
                )
            )
            break

    # Reply-To pointing elsewhere.
    rt_dom = domain_of(msg.reply_to)
    if rt_dom and from_dom and registered_domain(rt_dom) != registered_domain(from_dom):
        if rt_dom in FREEMAIL and from_dom not in FREEMAIL:
            reasons.append(
                Reason(
                    "impersonation.reply_to_freemail",
                    2.5,
                    f"replies go to {msg.reply_to}, a free mailbox, not {from_dom}",
                )
            )
        elif ctx.is_protected(from_dom):
            reasons.append(
                Reason(
                    "impersonation.reply_to_mismatch",
                    3.0,
                    f"claims {from_dom} but replies go to {rt_dom}",
                )
            )

    # BEC wording: counts more when the sender is outside or a free mailbox.
    text = f"{msg.subject}\n{msg.body[:20_000]}"
    factor = 1.0 if external else 0.5
    if from_dom in FREEMAIL or reasons:
        factor *= 1.5
    # The mail's words first, then the letters and invoices in its PDFs (invoice fraud writes
    # the changed IBAN there, under a one-line "see attached").
    sources = [("", text.lower())] + [
        (f" (in {att.filename[:80] or 'a PDF'})", att.pdf.text.lower())
        for att in msg.attachments
        if att.pdf is not None and att.pdf.text
    ]
    for rule, score, _pattern in BEC_PATTERNS:
        for where, low in sources:
            if not any(k in low for k in _BEC_WORDS[rule]):
                continue  # cheap pre-filter: the regex cannot match without one of these
            m = _BEC_LOWER[rule].search(low)
            if m:
                reasons.append(Reason(rule, score * factor, f"says {m.group(0)!r}{where}"))
                break
    return reasons
