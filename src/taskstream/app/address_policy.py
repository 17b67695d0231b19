"""Where webhooks may go: the form of a webhook URL, and the addresses behind its host.

A webhook is a request the server makes for a user, so it must not reach inside the
deployment: every address its host resolves to must be public (`is_global`), not
loopback, private, link-local (cloud metadata lives there), shared, multicast, reserved
or unspecified, and an IPv4 address written as IPv6 (mapped or NAT64) is judged as the
IPv4 one. Numeric hosts in any spelling (`0x7f.1`, `2130706433`) resolve to what they
mean first. The check runs when a webhook is registered and again before each delivery,
on the very address the connection then goes to, so a name that later resolves
elsewhere (DNS rebinding) gains nothing.

An operator may allow named hosts and networks (`TASKSTREAM_WEBHOOK_ALLOW`), for a
receiver inside the deployment on purpose, or for tests on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from taskstream.domain.errors import ValidationFailed

URL_MAX: Final = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


def check_webhook_url(value: str) -> str:
    """The URL if its form may be a webhook's; ValidationFailed (field `url`) if not."""
    url = value.strip()
    if len(url) > URL_MAX:
        raise ValidationFailed.of(
            "url", "url_too_long", f"A webhook URL has at most {URL_MAX} characters."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when the port is not a number
    except ValueError as exc:
        raise ValidationFailed.of(
            "url", "url_invalid", f"This URL cannot be parsed: {exc}."
        ) from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationFailed.of(
            "url", "url_invalid", "Give an http or https URL, such as https://example.com/hook."
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed.of(
            "url", "url_invalid", "Leave credentials out of the URL: verify the signature instead."
        )
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValidationFailed.of(
            "url", "url_invalid", "A URL has no spaces or control characters."
        )
    return url


@dataclass(frozen=True, slots=True)
class Target:
    """The host and port a webhook URL connects to."""

    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Target:
        parts = urlsplit(url)
        assert parts.hostname is not None  # a checked URL has a host
        return cls(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which hosts and addresses webhooks may reach."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AddressPolicy:
        """From a comma-separated list of host names, addresses and networks (CIDR)."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (piece.strip() for piece in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Whether the operator allowed this host by name (its addresses go unchecked)."""
        return host.lower().rstrip(".") in self.allowed_hosts

    def permits(self, address: IPAddress) -> bool:
        """Whether a webhook may connect to `address`."""
        if any(address in network for network in self.allowed_networks):
            return True
        inner = _embedded_ipv4(address)
        if inner is not None:
            return self.permits(inner)
        return address.is_global and not address.is_multicast


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
