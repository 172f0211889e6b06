"""This machine's address on the local network, for `live demo --lan`: the address a phone on
the same Wi-Fi can open. Found without sending anything over the network."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable

# Private destinations to "connect" a UDP socket to: connect() on UDP sends no packet, it only
# asks the kernel which local address its routing table would use to reach them.
PROBES = ("10.255.255.255", "192.168.255.255", "172.16.255.255")


def usable(address: str) -> bool:
    """An IPv4 address another device could reach: not loopback (127.x), unspecified,
    link-local (169.254.x, what a machine gives itself without a network) or multicast."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return (
        ip.version == 4
        and not ip.is_loopback
        and not ip.is_unspecified
        and not ip.is_link_local
        and not ip.is_multicast
    )


def choose(routed: Iterable[str], named: Iterable[str]) -> str | None:
    """The first usable address the routing table picks, else the hostname's addresses with
    private ones (192.168.x, 10.x, 172.16-31.x: a home or office network) first."""
    for address in routed:
        if usable(address):
            return address
    candidates = [a for a in dict.fromkeys(named) if usable(a)]
    candidates.sort(key=lambda a: not ipaddress.ip_address(a).is_private)
    return candidates[0] if candidates else None


def routed_addresses() -> list[str]:
    found: list[str] = []
    for target in PROBES:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect((target, 9))
                found.append(str(s.getsockname()[0]))
            except OSError:  # no route to that network
                continue
    return found


def hostname_addresses() -> list[str]:
    found: list[str] = []
    for name in {socket.gethostname(), socket.getfqdn()}:
        try:
            infos = socket.getaddrinfo(name, None, socket.AF_INET)
        except OSError:
            continue
        found.extend(str(info[4][0]) for info in infos)
    return found


def lan_address(
    routed: Callable[[], list[str]] | None = None,
    named: Callable[[], list[str]] | None = None,
) -> str | None:
    """This machine's LAN address, or None when it has none (only loopback). The hostname is
    looked up only when the routing table gives nothing usable (a lookup can be slow)."""
    first = choose((routed or routed_addresses)(), [])
    return first if first else choose([], (named or hostname_addresses)())
