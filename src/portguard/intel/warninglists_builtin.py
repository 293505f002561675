"""The built-in warninglists: a small, hand-curated set of values that are known good or
special-use, so that no feed can make PortGuard block them. The full MISP set is loaded from a
path (``Warninglists.load``); this set is only the floor.

Each entry: (name, MISP type, index kinds it applies to, values).
"""

from __future__ import annotations

__all__ = ["BUILTIN"]

_SPECIAL_USE_V4 = """
0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12 192.0.0.0/24
192.0.2.0/24 192.88.99.0/24 192.168.0.0/16 198.18.0.0/15 198.51.100.0/24 203.0.113.0/24
224.0.0.0/4 240.0.0.0/4 255.255.255.255/32
"""
_SPECIAL_USE_V6 = "::1/128 ::/128 fc00::/7 fe80::/10 ff00::/8 2001:db8::/32 64:ff9b::/96"
_PUBLIC_RESOLVERS = """
8.8.8.8 8.8.4.4 1.1.1.1 1.0.0.1 9.9.9.9 149.112.112.112 208.67.222.222 208.67.220.220
2001:4860:4860::8888 2001:4860:4860::8844 2606:4700:4700::1111 2606:4700:4700::1001
2620:fe::fe 2620:fe::9
"""
# Empty input under MD5, SHA-1, SHA-224, SHA-256, SHA-512: what a broken sandbox reports.
_EMPTY_HASHES = """
d41d8cd98f00b204e9800998ecf8427e
da39a3ee5e6b4b0d3255bfef95601890afd80709
d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e
"""
# Reserved names (RFC 2606 / RFC 6761) and TLD-level values a feed should never block.
_RESERVED_DOMAINS = """
example example.com example.net example.org invalid localhost local test onion arpa
in-addr.arpa ip6.arpa com net org eu be nl de fr uk co.uk io info biz gov edu
"""
# Sites almost every organisation talks to: hostname lists match their sub-domains too.
_COMMON_SITES = """
google.com googleapis.com gstatic.com gmail.com youtube.com microsoft.com office.com
office365.com outlook.com live.com windows.net windowsupdate.com microsoftonline.com
azure.com sharepoint.com onedrive.com apple.com icloud.com amazon.com amazonaws.com
cloudflare.com akamai.net akamaiedge.net facebook.com instagram.com whatsapp.com
linkedin.com twitter.com x.com github.com gitlab.com wikipedia.org mozilla.org zoom.us
dropbox.com adobe.com salesforce.com yahoo.com bing.com duckduckgo.com wetransfer.com
docusign.net docusign.com paypal.com
belgium.be fgov.be vlaanderen.be wallonie.be europa.eu ccb.belgium.be cert.be
portofantwerpbruges.com nxtport.com kbc.be bnpparibasfortis.be belfius.be ing.be argenta.be
"""
_URL_SHORTENERS = """
bit.ly t.co tinyurl.com goo.gl ow.ly is.gd buff.ly rebrand.ly cutt.ly lnkd.in aka.ms t.ly
"""
_CONTACT_LOCALPARTS = r"^(abuse|postmaster|hostmaster|webmaster|noreply|no-reply)@"

BUILTIN: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Special-use IPv4 ranges (RFC 5735, 6598)", "cidr", ("ip",), tuple(_SPECIAL_USE_V4.split())),
    (
        "Special-use IPv6 ranges (RFC 4291, 4193, 3849)",
        "cidr",
        ("ip",),
        tuple(_SPECIAL_USE_V6.split()),
    ),
    ("Public DNS resolvers", "cidr", ("ip",), tuple(_PUBLIC_RESOLVERS.split())),
    ("Hashes of empty input", "string", ("hash",), tuple(_EMPTY_HASHES.split())),
    ("Reserved and top-level names", "string", ("domain", "url"), tuple(_RESERVED_DOMAINS.split())),
    ("Common sites (built-in)", "hostname", ("domain", "url"), tuple(_COMMON_SITES.split())),
    ("URL shorteners", "hostname", ("domain", "url"), tuple(_URL_SHORTENERS.split())),
    ("Role mailboxes", "regex", ("email",), (_CONTACT_LOCALPARTS,)),
)
