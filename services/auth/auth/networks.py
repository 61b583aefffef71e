"""The client network a request comes from, as throttles count it: an IPv4 address on its own
(/32), an IPv6 address by its /64 (one host or home usually holds a whole /64, so counting single
IPv6 addresses would give an attacker billions of fresh keys)."""

from __future__ import annotations

import ipaddress

IPV6_PREFIX = 64


def client_network(ip: str) -> str:
    """ "" when there is no client IP (an internal caller); the raw text when it is not an address."""
    raw = ip.strip().split("%", 1)[0]  # an IPv6 zone id names an interface, not a host
    if not raw:
        return ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)
