"""Host ports for published bindings, on a fake binder: held per owner, random ones in
order from the ephemeral range, all-or-nothing, and dockerd's errors (the messages as
dockerd 20.10 gave them, run in a network lab with a listener and containers holding
the ports)."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from cove.runtime import errors
from cove.runtime.network.port_allocator import (
    PortAllocator,
    PortHeldElsewhere,
    endpoint_error,
    ephemeral_range,
)
from cove.runtime.network.ports import ContainerPort, HostPorts, PortRequest, Publication

ANY = IPv4Address("0.0.0.0")
LOCAL = IPv4Address("127.0.0.1")


class FakeSocket:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeBinder:
    """Ports another program holds are in ``foreign``; every socket handed out is kept."""

    def __init__(self, foreign: set[tuple[str, int]] = frozenset()) -> None:
        self.foreign = set(foreign)
        self.sockets: list[FakeSocket] = []

    def __call__(self, proto: str, address: IPv4Address, port: int) -> FakeSocket:
        if (proto, port) in self.foreign:
            raise PortHeldElsewhere(98, "Address already in use")
        self.sockets.append(FakeSocket())
        return self.sockets[-1]


def _allocator(binder: FakeBinder, port_range: tuple[int, int] = (32768, 32770)) -> PortAllocator:
    return PortAllocator(port_range, binder)


def _request(
    port: int,
    first: int = 0,
    last: int | None = None,
    address: IPv4Address = ANY,
    proto: str = "tcp",
) -> PortRequest:
    return PortRequest(
        ContainerPort(port, proto), HostPorts(address, first, first if last is None else last)
    )


def test_random_ports_come_in_order_from_the_range_and_skip_busy_ones() -> None:
    binder = FakeBinder({("tcp", 32769)})
    ports = _allocator(binder)
    got = ports.allocate("a", [_request(80), _request(81)])
    assert [p.host_port for p in got] == [32768, 32770]
    ports.release("a")
    assert [p.host_port for p in ports.allocate("b", [_request(80)])] == [32768]  # wrapped


def test_a_port_cove_holds_is_already_allocated_in_dockerds_words() -> None:
    ports = _allocator(FakeBinder())
    ports.allocate("a", [_request(80, 8080)])
    with pytest.raises(errors.SystemError_) as taken:
        ports.allocate("b", [_request(80, 8080)])
    assert taken.value.message == "Bind for 0.0.0.0:8080 failed: port is already allocated"
    # on an overlapping address dockerd's allocator lets it by and its proxy fails the bind
    with pytest.raises(errors.SystemError_) as overlapping:
        ports.allocate("b", [_request(80, 8080, address=LOCAL)])
    assert overlapping.value.message == (
        "Error starting userland proxy: listen tcp4 127.0.0.1:8080: bind: address already in use"
    )
    ports.allocate("b", [_request(80, 8080, proto="udp")])  # another protocol: free


def test_a_port_another_program_holds_is_address_already_in_use() -> None:
    ports = _allocator(FakeBinder({("udp", 5353)}))
    with pytest.raises(errors.SystemError_) as taken:
        ports.allocate("a", [_request(53, 5353, proto="udp")])
    assert taken.value.message == (
        "Error starting userland proxy: listen udp4 0.0.0.0:5353: bind: address already in use"
    )
    shown = endpoint_error("web", "0123abcd", taken.value)
    assert shown.message == (
        "driver failed programming external connectivity on endpoint web (0123abcd): "
        "Error starting userland proxy: listen udp4 0.0.0.0:5353: bind: address already in use"
    )


def test_a_range_takes_its_first_free_port_and_fails_whole_when_full() -> None:
    ports = _allocator(FakeBinder({("tcp", 8000)}))
    assert [p.host_port for p in ports.allocate("a", [_request(80, 8000, 8001)])] == [8001]
    with pytest.raises(errors.SystemError_) as full:
        ports.allocate("b", [_request(80, 8000, 8001)])
    assert full.value.message == "all ports are allocated"


def test_a_failed_request_releases_what_the_same_call_took() -> None:
    binder = FakeBinder({("tcp", 9090)})
    ports = _allocator(binder)
    with pytest.raises(errors.SystemError_):
        ports.allocate("a", [_request(80, 8080), _request(81, 9090)])
    assert all(sock.closed for sock in binder.sockets)
    assert ports.publications() == {}
    ports.allocate("b", [_request(80, 8080)])


def test_release_closes_the_sockets_and_restore_holds_the_same_ports_again() -> None:
    binder = FakeBinder()
    ports = _allocator(binder)
    published = ports.allocate("a", [_request(80), _request(53, 5353, proto="udp")])
    assert ports.publications() == {"a": published}
    assert ports.release("a") == published
    assert all(sock.closed for sock in binder.sockets)
    again = _allocator(FakeBinder())
    again.restore("a", published)
    assert again.publications() == {"a": published}
    assert published[1] == Publication("udp", ANY, 5353, 53)


def test_the_ephemeral_range_is_the_kernels_or_dockerds_fallback(tmp_path: Path) -> None:
    good = tmp_path / "range"
    good.write_text("32768\t60999\n")
    assert ephemeral_range(str(good)) == (32768, 60999)
    good.write_text("garbage")
    assert ephemeral_range(str(good)) == (49153, 65535)
    assert ephemeral_range(str(tmp_path / "missing")) == (49153, 65535)
