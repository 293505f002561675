"""Authentication: SPF, DKIM (dkimpy), DMARC alignment, and trusted Authentication-Results.

With a resolver (real DNS in production, ``StaticResolver`` in tests) the analyser checks SPF for
the SMTP client and envelope sender, verifies DKIM signatures and applies the From domain's DMARC
policy. ``Authentication-Results`` headers are believed only when their authserv-id is in
``trusted_authserv_ids`` (the upstream hosts); anyone else can write one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import dkim

from portguard.mail.analysers.base import (
    AnalysisContext,
    Envelope,
    Resolver,
    registered_domain,
)
from portguard.mail.parse import ParsedMessage, domain_of
from portguard.mail.schemas import Reason

__all__ = [
    "AUTHENTICATED",
    "analyse",
    "authenticated",
    "check_spf",
    "dmarc_policy",
    "parse_auth_results",
]

#: The finding (0 points, information) that the From domain is authenticated: DMARC passes, or
#: a DKIM signature or SPF aligned with it verifies. Known correspondents are counted on it.
AUTHENTICATED = "auth.pass"


def authenticated(names: Iterable[str | None]) -> bool:
    """Whether a verdict's reasons (their ``names``) say the From domain is authenticated."""
    return AUTHENTICATED in names


_RESULT_RE = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.I)
_HEADER_D_RE = re.compile(r"header\.(?:d|from)\s*=\s*([^\s;]+)", re.I)


def parse_auth_results(value: str) -> tuple[str, dict[str, str]]:
    """``(authserv-id, {method: result})`` of one Authentication-Results header; the id is ""
    when the header names none (``; spf=pass``), which no configured upstream host matches."""
    head = value.split(";", 1)[0].split()
    authserv = head[0].lower() if head else ""
    results: dict[str, str] = {}
    for method, result in _RESULT_RE.findall(value.split(";", 1)[-1]):
        results.setdefault(method.lower(), result.lower())
    return authserv, results


def _ip_in(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, spec: str) -> bool:
    try:
        return ip in ipaddress.ip_network(spec, strict=False)
    except ValueError:
        return False


def check_spf(ip: str, domain: str, resolver: Resolver, *, _depth: int = 0) -> str:
    """RFC 7208, the mechanisms that matter (ip4, ip6, a, mx, include, redirect, all)."""
    if _depth > 10:
        return "permerror"
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "none"
    records = [t for t in resolver.txt(domain) if t.lower().startswith("v=spf1")]
    if len(records) != 1:
        return "none" if not records else "permerror"
    redirect = None
    quals = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
    for term in records[0].split()[1:]:
        if term.lower().startswith("redirect="):
            redirect = term.split("=", 1)[1]
            continue
        qual = "+"
        if term[0] in quals:
            qual, term = term[0], term[1:]
        mech, _, arg = term.partition(":")
        mech = mech.lower().split("/")[0]
        hit = False
        if mech == "all":
            hit = True
        elif mech in ("ip4", "ip6"):
            hit = _ip_in(addr, arg)
        elif mech == "a":
            hit = any(_ip_in(addr, a) for a in resolver.a(arg or domain))
        elif mech == "mx":
            hit = any(_ip_in(addr, a) for mx in resolver.mx(arg or domain) for a in resolver.a(mx))
        elif mech == "include":
            hit = check_spf(ip, arg, resolver, _depth=_depth + 1) == "pass"
        if hit:
            return quals[qual]
    if redirect:
        return check_spf(ip, redirect, resolver, _depth=_depth + 1)
    return "neutral"


def dmarc_policy(domain: str, resolver: Resolver) -> str | None:
    """The ``p=`` of the DMARC record of ``domain`` (or of its organisational domain)."""
    for d in dict.fromkeys((domain, registered_domain(domain))):
        for txt in resolver.txt(f"_dmarc.{d}"):
            if txt.lower().startswith("v=dmarc1"):
                m = re.search(r"\bp\s*=\s*(\w+)", txt, re.I)
                return m.group(1).lower() if m else "none"
    return None


def _dkim(raw: bytes, resolver: Resolver) -> list[tuple[str, bool]]:
    """``(d=, verified)`` for each DKIM signature (the first five)."""

    def dnsfunc(name: bytes | str, timeout: int = 5) -> bytes:
        n = name.decode() if isinstance(name, bytes) else name
        return "".join(resolver.txt(n.rstrip("."))).encode()

    out: list[tuple[str, bool]] = []
    headers = re.findall(rb"(?im)^dkim-signature:(.*(?:\r?\n[ \t].*)*)", raw[:200_000])
    for idx, header in enumerate(headers[:5]):
        m = re.search(rb"\bd\s*=\s*([^\s;]+)", header)
        domain = m.group(1).decode("latin-1").lower() if m else ""
        try:
            ok = bool(dkim.DKIM(raw).verify(idx=idx, dnsfunc=dnsfunc))
        except Exception:
            ok = False
        out.append((domain, ok))
    return out


def analyse(msg: ParsedMessage, env: Envelope, ctx: AnalysisContext) -> list[Reason]:
    reasons: list[Reason] = []
    from_dom = msg.from_domain
    protected = bool(from_dom) and ctx.is_protected(from_dom)
    results: dict[str, str] = {}
    for value in msg.header_all("authentication-results"):
        authserv, res = parse_auth_results(value)
        if authserv in ctx.trusted_authserv_ids:
            for k, v in res.items():
                results.setdefault(k, v)
    aligned_dkim = aligned_spf = False
    if ctx.resolver is not None and env.client_ip:
        sender_dom = domain_of(env.mail_from) or env.helo.lower()
        spf = check_spf(env.client_ip, sender_dom, ctx.resolver) if sender_dom else "none"
        results.setdefault("spf", spf)
        sigs = _dkim(msg.raw, ctx.resolver) if msg.raw else []
        aligned_dkim = any(
            ok and registered_domain(d) == registered_domain(from_dom) for d, ok in sigs
        )
        if sigs:
            results.setdefault("dkim", "pass" if any(ok for _, ok in sigs) else "fail")
        aligned_spf = spf == "pass" and registered_domain(sender_dom) == registered_domain(from_dom)
        if from_dom and "dmarc" not in results:
            policy = dmarc_policy(from_dom, ctx.resolver)
            if policy is not None:
                results["dmarc"] = "pass" if (aligned_dkim or aligned_spf) else "fail"
                results["dmarc_policy"] = policy
    weight = 2.0 if protected else 1.0
    if results.get("dmarc") == "fail":
        pol = results.get("dmarc_policy", "")
        reasons.append(
            Reason(
                "auth.dmarc_fail",
                (4.0 if pol in ("reject", "quarantine") else 2.5) * weight,
                f"DMARC fails for {from_dom}" + (f" (policy {pol})" if pol else ""),
            )
        )
    if results.get("spf") in ("fail", "softfail"):
        score = 1.5 if results["spf"] == "fail" else 0.7
        reasons.append(
            Reason(
                "auth.spf_" + results["spf"],
                score * weight,
                f"SPF does not allow {env.client_ip or 'the sending host'}",
            )
        )
    if results.get("dkim") == "fail":
        reasons.append(Reason("auth.dkim_fail", 1.0 * weight, "DKIM signature does not verify"))
    if protected and results and results.get("dmarc") != "pass" and results.get("spf") != "pass":
        reasons.append(
            Reason("auth.protected_unauthenticated", 4.0, f"claims {from_dom} without passing auth")
        )
    if from_dom and (results.get("dmarc") == "pass" or aligned_dkim or aligned_spf):
        how = (
            "DMARC passes"
            if results.get("dmarc") == "pass"
            else ("aligned DKIM signature verifies" if aligned_dkim else "aligned SPF passes")
        )
        reasons.append(Reason(AUTHENTICATED, 0.0, f"{from_dom} is authenticated ({how})", "info"))
    return reasons
