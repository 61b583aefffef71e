"""The client network a failed webhook delivery is counted against: one client's easy reach (an
IPv4 /24, an IPv6 /64), never a bare address it can vary within that range."""

from __future__ import annotations

import pytest
from auth.webhook_guard import client_network


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.7", "203.0.113.0/24"),
        ("203.0.113.250", "203.0.113.0/24"),
        ("127.0.0.1", "127.0.0.0/24"),
        ("::ffff:203.0.113.7", "203.0.113.0/24"),  # IPv4 seen through an IPv6 socket
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("", "unknown"),
        ("not-an-address", "unknown"),
    ],
)
def test_client_network(ip: str, network: str) -> None:
    assert client_network(ip) == network
