"""Which webhook URLs the server may call (SSRF rules of DESIGN.md). Pure apart from the injected resolver.

`check_url` parses a URL, resolves its host once and checks every address it resolves to; the result names the
addresses that were checked, and the transport connects to one of those (never resolving again), so a DNS answer
that changes between the check and the connection cannot redirect the request. The check runs at registration
and again before every attempt.

Rules: the scheme is https, or http for a loopback host (local development); no credentials in the URL; every
resolved address must be globally routable, except loopback when the policy allows it, and anything the policy's
allow-list names (the host name itself, an address, or a network).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

# Cloud metadata services. Most sit in ranges refused anyway (link-local, unique-local, CGNAT); naming them gives
# a clearer refusal and keeps them refused should a broad allow-list network contain them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(Exception):
    """The URL may not be called. `kind` is `invalid` (unparseable, wrong scheme), `dns` (does not resolve) or
    `address` (resolves to a refused address)."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class UrlPolicy:
    allow_loopback: bool = True
    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_entries(cls, entries: Sequence[str], *, allow_loopback: bool) -> UrlPolicy:
        """Allow-list entries: host names, IP addresses or CIDR networks."""
        hosts: set[str] = set()
        networks = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(
            allow_loopback=allow_loopback, allow_hosts=frozenset(hosts), allow_networks=tuple(networks)
        )


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`, all checked) and what to say (Host header, SNI, path)."""

    url: str
    scheme: str
    host: str  # ASCII host name or IP literal (no brackets): SNI and certificate name
    port: int
    host_header: str
    request_path: str
    addresses: tuple[str, ...] = field(default_factory=tuple)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address of the host, in the system's preferred order (one getaddrinfo call)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UrlRefused(f"Host '{host}' does not resolve: {exc}", kind="dns") from None
    ordered: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in ordered:
            ordered.append(address)
    return ordered


def _unwrap(address: IPAddress) -> IPAddress:
    """IPv4 addresses carried inside IPv6 forms (mapped, NAT64) are judged as the IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64_PREFIX:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal_reason(address: IPAddress) -> str | None:
    """Why an address may not be called without an allow-list entry; None when it is globally routable."""
    address = _unwrap(address)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or address.is_reserved or not address.is_global:
        return "a private or reserved address"
    return None


def _address_allowed(address: IPAddress, host: str, policy: UrlPolicy) -> str | None:
    reason = refusal_reason(address)
    if reason is None:
        return None
    unwrapped = _unwrap(address)
    if host in policy.allow_hosts or any(unwrapped in network for network in policy.allow_networks):
        return None
    if unwrapped.is_loopback and policy.allow_loopback and unwrapped not in METADATA_ADDRESSES:
        return None
    return reason


def _ascii_host(hostname: str) -> str:
    try:
        return hostname.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        raise UrlRefused(f"Host '{hostname}' is not a valid host name.") from None


def parse(url: str) -> Target:
    """Check the URL's shape (no DNS): scheme, host, port, no credentials."""
    if not isinstance(url, str) or not url or any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise UrlRefused("URL must be an absolute http(s) URL without spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"URL is not valid: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UrlRefused("URL scheme must be https.")
    if not parts.hostname:
        raise UrlRefused("URL must name a host.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("URL must not contain credentials; use a secret to authenticate deliveries.")
    try:
        literal: IPAddress | None = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    host = str(literal) if literal is not None else _ascii_host(parts.hostname)
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    shown = f"[{host}]" if literal is not None and literal.version == 6 else host
    host_header = shown if port == default_port else f"{shown}:{port}"
    request_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(
        url=url, scheme=scheme, host=host, port=port, host_header=host_header, request_path=request_path
    )


def check_url(url: str, policy: UrlPolicy, resolver: Resolver = system_resolver) -> Target:
    """Parse, resolve once, and check every address. Raises UrlRefused; returns the checked Target."""
    target = parse(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        addresses = list(resolver(target.host, target.port))
        if not addresses:
            raise UrlRefused(f"Host '{target.host}' does not resolve.", kind="dns")
    parsed = [ipaddress.ip_address(address) for address in addresses]
    for address in parsed:
        reason = _address_allowed(address, target.host, policy)
        if reason is not None:
            shown = f"'{target.host}'" if literal is None else "it"
            raise UrlRefused(
                f"URL host {shown} is {reason} ({address}); name it in BATON_WEBHOOK_ALLOW_HOSTS to allow it.",
                kind="address",
            )
    if target.scheme == "http" and not all(_unwrap(address).is_loopback for address in parsed):
        raise UrlRefused("URL scheme must be https (http is accepted only for loopback hosts).")
    return Target(
        url=target.url,
        scheme=target.scheme,
        host=target.host,
        port=target.port,
        host_header=target.host_header,
        request_path=target.request_path,
        addresses=tuple(str(address) for address in parsed),
    )
