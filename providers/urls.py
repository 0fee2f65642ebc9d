"""Which URLs may be handed to a provider or downloaded from one.

Production allows HTTPS to public addresses only. `allow_loopback` (the ALLOW_LOOPBACK_URLS
testing setting) also admits plain HTTP to loopback addresses, and nothing else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

from providers.errors import UnsafeURL

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _address_allowed(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool
) -> bool:
    if address.is_loopback:
        return allow_loopback
    return address.is_global and not address.is_multicast


def check_url(url: str, *, allow_loopback: bool, provider: str, what: str = "URL") -> None:
    """Refuse URLs by their text alone: scheme, credentials, literal private addresses."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # raises on a malformed port
    except ValueError as error:
        raise UnsafeURL(f"{what} is not a valid URL", provider=provider) from error
    if parts.scheme not in ("https", "http"):
        raise UnsafeURL(
            f"{what} must use https (got {parts.scheme or 'no scheme'}://)", provider=provider
        )
    if not host:
        raise UnsafeURL(f"{what} has no host", provider=provider)
    if parts.username or parts.password:
        raise UnsafeURL(f"{what} must not carry credentials", provider=provider)
    literal = _literal_ip(host)
    is_loopback = host in LOOPBACK_NAMES or (literal is not None and literal.is_loopback)
    if parts.scheme == "https" or (parts.scheme == "http" and allow_loopback and is_loopback):
        pass
    else:
        raise UnsafeURL(
            f"{what} must use https (got {parts.scheme or 'no scheme'}://)", provider=provider
        )
    if is_loopback and not allow_loopback:
        raise UnsafeURL(f"{what} points at this machine (loopback)", provider=provider)
    if literal is not None and not _address_allowed(literal, allow_loopback=allow_loopback):
        raise UnsafeURL(f"{what} points at a private or reserved address", provider=provider)


async def check_resolved(url: str, *, allow_loopback: bool, provider: str, what: str) -> str | None:
    """`check_url`, then resolve the host and refuse it if any address is not public.

    Returns the vetted address to connect to (None when the URL already names one), so the
    caller connects where it checked and a second lookup cannot be rebound elsewhere."""
    check_url(url, allow_loopback=allow_loopback, provider=provider, what=what)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _literal_ip(host) is not None or host in LOOPBACK_NAMES:
        return None
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as error:
        raise UnsafeURL(f"{what}: the host name does not resolve", provider=provider) from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not _address_allowed(address, allow_loopback=allow_loopback):
            raise UnsafeURL(f"{what} resolves to a private or reserved address", provider=provider)
    if not infos:
        raise UnsafeURL(f"{what}: the host name does not resolve", provider=provider)
    return str(infos[0][4][0])


def pinned(url: str, address: str) -> str:
    """`url` with its host replaced by `address` (the port and path kept)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
