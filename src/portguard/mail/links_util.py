"""Small helpers on a parsed message's links, shared by analysers and alerts."""

from __future__ import annotations

from urllib.parse import urlsplit

from portguard.mail.parse import ParsedMessage

__all__ = ["host_of", "link_hosts"]


def host_of(url: str) -> str:
    u = url if "://" in url else "http://" + url
    try:
        return (urlsplit(u).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def link_hosts(msg: ParsedMessage) -> list[str]:
    hosts: dict[str, None] = {}
    for link in msg.links[:200]:
        if link.url.lower().startswith(("mailto:", "tel:", "#", "cid:")):
            continue
        h = host_of(link.url)
        if h:
            hosts[h] = None
    return list(hosts)
