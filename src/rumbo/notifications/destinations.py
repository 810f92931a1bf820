"""Where outbound webhooks may go: public addresses only, checked once and connected to.

A merchant chooses the webhook URL, and the worker POSTs to it from inside the
operator's network; without this check a URL like ``http://127.0.0.1:8000/metrics``
or ``http://169.254.169.254/`` turns the worker into a proxy to internal services
(server-side request forgery). The host is resolved once; every address it resolves
to must be public, and the request goes to the checked address (the URL's host stays
in the ``Host`` header and the TLS server name), so a name that resolves differently
the second time (DNS rebinding) cannot move the request inside.

Refused: loopback (127/8, ::1), private (RFC 1918: 10/8, 172.16/12, 192.168/16;
RFC 4193 unique local fc00::/7; RFC 6598 shared 100.64/10), link-local (RFC 3927
169.254/16 — cloud metadata lives there — and fe80::/10), multicast, unspecified
(0.0.0.0, ::) and reserved ranges (the ``ipaddress`` module's IANA registries), and
IPv4 written inside IPv6 (``::ffff:127.0.0.1``) by the IPv4 address it carries.
``RUMBO_WEBHOOK_ALLOWED_NETWORKS`` lists networks that are allowed all the same
(on-premises receivers).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from rumbo.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses the host resolves to, as text
Resolver = Callable[[str, int], Sequence[str]]


class DestinationRefused(Exception):
    """The URL may not be called; ``reason`` says why in a sentence. ``unresolved``: the
    host did not resolve (now), which may change; otherwise the address is not allowed."""

    def __init__(self, reason: str, *, unresolved: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unresolved = unresolved


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (IPv4 and IPv6)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"the host {host!r} does not resolve", unresolved=True) from exc
    return [str(sockaddr[0]) for *_, sockaddr in answers]


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """``"10.0.0.0/8, fd00::/8"`` → networks; raises ValueError on a bad entry."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


def is_public(address: IPAddress) -> bool:
    """True for an address on the public internet (see the module docstring)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
    )


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked URL and the address to connect to for it."""

    url: httpx.URL
    address: IPAddress

    def request_url(self) -> httpx.URL:
        """The URL with the checked address in place of the host name."""
        return self.url.copy_with(host=str(self.address))

    def request_headers(self) -> dict[str, str]:
        host = self.url.host if self.url.port is None else f"{self.url.host}:{self.url.port}"
        return {"host": host}

    def tls_name(self) -> str | None:
        """The name the TLS certificate is checked against (and sent as SNI): the URL's,
        not the address's; None over plain HTTP."""
        return self.url.host if self.url.scheme == "https" else None


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """Resolves a webhook URL once and refuses it unless every address is allowed."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=system_resolver)

    def allows(self, address: IPAddress) -> bool:
        return is_public(address) or any(address in net for net in self.allowed_networks)

    def check(self, url: str | httpx.URL) -> Destination:
        """The destination for ``url``, or :class:`DestinationRefused`."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise DestinationRefused("the URL is not valid") from exc
        if parsed.scheme not in ("http", "https"):
            raise DestinationRefused("only http and https URLs are called")
        host = parsed.host
        if not host:
            raise DestinationRefused("the URL has no host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        answers = [str(literal)] if literal is not None else list(self.resolver(host, port))
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
            except ValueError as exc:
                raise DestinationRefused(f"the host {host!r} resolved to {answer!r}") from exc
        if not addresses:
            raise DestinationRefused(f"the host {host!r} does not resolve", unresolved=True)
        refused = [str(a) for a in addresses if not self.allows(a)]
        if refused:
            raise DestinationRefused(
                f"the host {host!r} resolves to an internal address ({', '.join(refused)}); "
                "webhooks go to public addresses only"
            )
        return Destination(parsed, addresses[0])


def webhook_destinations(settings: Settings) -> DestinationPolicy:
    """The policy ``settings`` ask for (``RUMBO_WEBHOOK_ALLOWED_NETWORKS``)."""
    return DestinationPolicy(parse_networks(settings.webhook_allowed_networks))
