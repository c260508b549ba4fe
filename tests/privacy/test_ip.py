"""IP truncation and the client's address from the edge's headers."""

from __future__ import annotations

import pytest

from reviva.privacy import client_ip, truncate_ip


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("203.0.113.77:5678", "203.0.113.0"),
        (" 10.1.2.255 ", "10.1.2.0"),
        ("2001:db8:abcd:12:34:56:78:9a", "2001:db8:abcd::"),
        ("[2001:db8:abcd:12::1]:443", "2001:db8:abcd::"),
        ("::ffff:192.0.2.130", "192.0.2.0"),
        ("not-an-ip", None),
        ("", None),
        (None, None),
    ],
)
def test_truncate_ip(ip: str | None, expected: str | None) -> None:
    assert truncate_ip(ip) == expected


def test_client_ip_prefers_first_forwarded_hop() -> None:
    assert client_ip({"x-forwarded-for": "203.0.113.9, 130.176.0.1"}, "130.176.0.1") == "203.0.113.9"
    assert client_ip({}, "198.51.100.4") == "198.51.100.4"
    assert client_ip({"x-forwarded-for": " "}, None) is None


def test_cloudfront_viewer_address_wins_over_forwarded_headers() -> None:
    from reviva.privacy.ip import client_ip

    headers = {"cloudfront-viewer-address": "198.51.100.10:46532", "x-forwarded-for": "203.0.113.9"}
    assert client_ip(headers, "10.0.0.1") == "198.51.100.10"
    assert client_ip({"cloudfront-viewer-address": "2001:db8::1:46532"}, None) == "2001:db8::1"
    assert (
        client_ip({"cloudfront-viewer-address": "garbage", "x-forwarded-for": "203.0.113.9"}, None)
        == "203.0.113.9"
    )
