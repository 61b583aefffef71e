"""The client network throttles count: IPv4 by address, IPv6 by /64."""

from __future__ import annotations

import pytest
from auth.networks import client_network


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),  # an IPv4 client on a dual-stack socket
        ("", ""),
        ("not-an-address", "not-an-address"),
    ],
)
def test_client_network(ip: str, network: str) -> None:
    assert client_network(ip) == network
