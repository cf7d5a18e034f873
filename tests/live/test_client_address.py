"""The network a client's attempts are counted under (``live.limits.client_address``)."""

from __future__ import annotations

import pytest

from live.limits import client_address


@pytest.mark.parametrize(
    ("client", "network"),
    [
        (("203.0.113.7", 5000), "203.0.113.7"),
        (["198.51.100.1", 1], "198.51.100.1"),
        (("::ffff:203.0.113.7", 1), "203.0.113.7"),  # IPv4 mapped into IPv6
        (("2001:db8:1:2:3:4:5:6", 1), "2001:db8:1:2::/64"),  # one /64 is one household
        (("2001:DB8:1:2::9", 1), "2001:db8:1:2::/64"),
        (("203.0.113.07", 1), "203.0.113.07"),  # not an address: as given
        (("203.0.113", 1), "203.0.113"),
        (("x" * 100, 1), "x" * 64),  # bounded
        (None, "unknown"),
        (("", 1), "unknown"),
    ],
)
def test_each_client_is_counted_under_its_network(client: object, network: str) -> None:
    assert client_address(client) == network
