"""Unit tests of the webhook address policy."""

from __future__ import annotations

import ipaddress

import pytest

from taskstream.app.address_policy import AddressPolicy, Target

DEFAULT = AddressPolicy()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "224.0.0.251",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fd12::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
        "2001:db8::1",
    ],
)
def test_inside_and_special_addresses_are_not_permitted(address: str) -> None:
    assert not DEFAULT.permits(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "1.1.1.1", "2606:4700::1111", "::ffff:1.1.1.1"]
)
def test_public_addresses_are_permitted(address: str) -> None:
    assert DEFAULT.permits(ipaddress.ip_address(address))


def test_an_operator_allows_names_addresses_and_networks() -> None:
    policy = AddressPolicy.parse(" Hooks.Internal. , 127.0.0.1, 10.1.0.0/16,[::1], ")
    assert policy.allowed_hosts == frozenset({"hooks.internal"})
    assert policy.allows_host("HOOKS.internal")
    assert not policy.allows_host("other.internal")
    assert policy.permits(ipaddress.ip_address("127.0.0.1"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.2"))
    assert policy.permits(ipaddress.ip_address("10.1.200.3"))
    assert not policy.permits(ipaddress.ip_address("10.2.0.1"))
    assert policy.permits(ipaddress.ip_address("::1"))
    assert policy.permits(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert AddressPolicy.parse("") == DEFAULT


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://Example.com/hook", Target("example.com", 80)),
        ("https://example.com/hook", Target("example.com", 443)),
        ("https://example.com:8443/", Target("example.com", 8443)),
        ("http://[::1]:9/", Target("::1", 9)),
    ],
)
def test_the_target_of_a_url(url: str, target: Target) -> None:
    assert Target.of(url) == target
