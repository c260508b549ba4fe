"""Client IP handling: find the viewer's address and keep only its network prefix.

A full IP address is personal data; its /24 (IPv4) or /48 (IPv6) prefix still tells the country
and network without pointing at one household, so only the prefix ever leaves ingest.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache

IPV4_PREFIX_BITS = 24
IPV6_PREFIX_BITS = 48


def _strip_port(candidate: str) -> str:
    """Drop a port or brackets some proxies add ("1.2.3.4:5678", "[2001:db8::1]:443")."""
    if candidate.startswith("["):
        closing = candidate.find("]")
        return candidate[1:closing] if closing > 0 else candidate
    if candidate.count(":") == 1:  # exactly one colon: IPv4 with a port (IPv6 has at least two)
        return candidate.split(":", 1)[0]
    return candidate


@lru_cache(maxsize=4096)
def truncate_ip(ip: str | None) -> str | None:
    """Return the network address of `ip`'s /24 (IPv4) or /48 (IPv6), or None if it is not an IP.

    IPv4-mapped IPv6 addresses ("::ffff:192.0.2.7") are treated as the IPv4 address they carry.
    """
    if not ip or not isinstance(ip, str):
        return None
    try:
        address = ipaddress.ip_address(_strip_port(ip.strip()))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = IPV4_PREFIX_BITS if address.version == 4 else IPV6_PREFIX_BITS
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False).network_address)


def _viewer_address(value: str | None) -> str | None:
    """The IP of CloudFront's "ip:port" viewer address (IPv6 addresses are not bracketed)."""
    if not value:
        return None
    address = value.strip().rsplit(":", 1)[0].strip("[]")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def client_ip(headers: Mapping[str, str], source_ip: str | None) -> str | None:
    """The viewer's address: CloudFront's viewer address, else the first X-Forwarded-For hop, else the
    connection's source.

    Behind CloudFront, API Gateway's source IP is CloudFront's edge. CloudFront sets
    `CloudFront-Viewer-Address` itself (a client cannot forge it); otherwise the viewer is the first
    X-Forwarded-For entry. A client can forge that header, but the result is only ever stored
    truncated, so a forged value can mislabel a region, not expose anyone. `headers` must have
    lower-case names.
    """
    viewer = _viewer_address(headers.get("cloudfront-viewer-address"))
    if viewer:
        return viewer
    forwarded = headers.get("x-forwarded-for")
    if forwarded:
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first
    return source_ip or None
