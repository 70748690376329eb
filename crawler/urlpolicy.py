"""Which URLs bijia may fetch or store.

* Only ``http`` and ``https`` (``javascript:``, ``file:``, ``data:``, ``ftp:`` … never).
* **Fetching** also needs an allowed host: the hosts of the marketplace's ``base_url``, ``start_urls`` and
  ``sitemap_urls`` (with their subdomains; ``www.shop.com`` also allows ``shop.com``) and the hosts it
  lists in ``allow_hosts``. Anything else is off-site and not followed.
* **Private targets** — loopback (127.0.0.0/8, ::1, ``localhost``), link-local (169.254.0.0/16, where
  cloud metadata services live; fe80::/10), private ranges (10/8, 172.16/12, 192.168/16, fc00::/7),
  carrier-grade NAT, unspecified, multicast and reserved addresses — are fetched only when the config
  names that host *and port* (the demo marketplaces on ``127.0.0.1:<port>`` do). A shop on 127.0.0.1:8000
  linking to 127.0.0.1:6379 is a link to another local service, refused.

Numeric host spellings that resolvers accept (``2130706433``, ``0x7f.1``, ``127.1``) are read as the
address they mean. Host *names* are not resolved here: a name is allowed or not by the host rule only.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

HTTP_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
NOT_HTTP, OFFSITE, PRIVATE = "not_http", "offsite", "private_address"
_NUMERIC_HOST = re.compile(r"^[0-9a-fA-Fx.]+$")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: is_private is False for it


class Configured(Protocol):
    """What the policy reads from a marketplace (``crawler.config.Marketplace``)."""

    base_url: str
    start_urls: list[str]
    sitemap_urls: list[str]
    allow_hosts: list[str]


def http_url(url: object) -> str | None:
    """``url`` (surrounding white space removed) when it is an absolute http(s) URL with a host; else
    ``None``. Browsers ignore leading spaces and controls and letter case (`` JaVaScRiPt:``); so does
    this check, then it only says yes to http and https."""
    if not isinstance(url, str):
        return None
    text = url.strip(" \t\n\r\f\v\0")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return text if parts.scheme.lower() in HTTP_SCHEMES and parts.hostname else None


def address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host spells, if it is a literal (``127.0.0.1``, ``::1``, ``2130706433``)."""
    try:
        found = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if not _NUMERIC_HOST.match(host) or not any(c.isdigit() for c in host):
            return None
        try:
            found = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def is_private(host: str) -> bool:
    """A host that is not on the public internet: ``localhost`` or an address in a non-public range."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = address(name)
    if ip is None:
        return False
    return not ip.is_global or ip.is_multicast or (ip.version == 4 and ip in _SHARED)


def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return (parts.hostname or "").rstrip("."), parts.port or DEFAULT_PORTS.get(parts.scheme.lower())


def _entry(entry: str) -> tuple[str, int | None]:
    """An ``allow_hosts`` entry: ``shop.com``, ``*.shop.com``, ``10.0.0.5:9200`` or a URL."""
    if "://" in entry:
        return _host_port(entry)
    parts = urlsplit(f"//{entry.strip().removeprefix('*.')}")
    return (parts.hostname or "").rstrip("."), parts.port


@dataclass(frozen=True)
class UrlPolicy:
    hosts: frozenset[str]
    """Allowed host names (lower-case); each allows its subdomains too."""
    named: frozenset[tuple[str, int | None]]
    """(host, port) the config names; a private target must be one of them (port ``None``: any port)."""

    @classmethod
    def of(cls, urls: Iterable[str], allow: Iterable[str] = ()) -> UrlPolicy:
        named = {_host_port(u) for u in urls} | {_entry(e) for e in allow}
        hosts = {h.lower() for h, _ in named if h}
        hosts |= {h.removeprefix("www.") for h in hosts if h.startswith("www.") and h.count(".") >= 2}
        return cls(frozenset(hosts), frozenset((h.lower(), p) for h, p in named if h))

    @classmethod
    def for_marketplace(cls, m: Configured) -> UrlPolicy:
        return cls.of([m.base_url, *m.start_urls, *m.sitemap_urls], m.allow_hosts)

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched (``not_http``, ``offsite``, ``private_address``), or ``None``."""
        if http_url(url) is None:
            return NOT_HTTP
        host, port = _host_port(url.strip())
        host = host.lower()
        if not any(host == h or host.endswith("." + h) for h in self.hosts):
            return OFFSITE
        if is_private(host) and (host, port) not in self.named and (host, None) not in self.named:
            return PRIVATE
        return None

    def allows(self, url: str) -> bool:
        return self.refusal(url) is None
