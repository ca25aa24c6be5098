"""The guest's end of the control port: where init waits, once per boot, for the host's go.

The wait sits after everything that does not depend on the host's time or randomness and
does not touch the data disk (kernel, mounts, network, the agent, a loaded engine), and
before what does (clock, sshd, the data disk, the engine's start). That is the point at
which the host may save the VM's state, and where a restored VM wakes up.

The line is virtio-serial: while nothing is connected on the host's side, a write blocks
and a read returns end-of-file at once; a restored guest therefore sees end-of-file until
the new QEMU's host side connects, and polls.
"""

from __future__ import annotations

import fcntl
import os
import time

from cove.guest_agent import protocol

PORTS = "/sys/class/virtio-ports"
RNDRESEEDCRNG = 0x5207  # _IO('R', 0x07)
POLL = 0.02


VIRTIO_DEVICES = "/sys/bus/virtio/devices"
VIRTIO_ID_CONSOLE = "0x0003"


def has_serial_device() -> bool:
    """Whether QEMU gave this guest a virtio-serial device at all (a guest booted by hand,
    without one, has nobody to wait for)."""
    try:
        entries = os.listdir(VIRTIO_DEVICES)
    except FileNotFoundError:
        return False
    for entry in entries:
        try:
            with open(f"{VIRTIO_DEVICES}/{entry}/device") as f:
                if f.read().strip() == VIRTIO_ID_CONSOLE:
                    return True
        except OSError:
            continue
    return False


def find_port(name: str = protocol.CONTROL_PORT, timeout: float = 10.0) -> str | None:
    """/dev path of the virtio-serial port the host named ``name``; the name shows in sysfs
    a moment after the driver binds. None at once when there is no virtio-serial device."""
    if not has_serial_device():
        return None
    deadline = time.monotonic() + timeout
    while True:
        try:
            entries = sorted(os.listdir(PORTS))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            try:
                with open(f"{PORTS}/{entry}/name") as f:
                    if f.read().strip() == name:
                        return f"/dev/{entry}"
            except OSError:
                continue
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL)


def wait_for_go(device: str) -> protocol.Go:
    """Says ready (blocking until the host listens), then waits for the host's go."""
    fd = os.open(device, os.O_RDWR)
    try:
        return exchange(fd)
    finally:
        os.close(fd)


def exchange(fd: int) -> protocol.Go:
    """``wait_for_go`` on an open line."""
    os.write(fd, protocol.encode(protocol.ready_message()))
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(fd, 4096)
        if not chunk:  # nobody on the host's side (yet, or again after a restore)
            time.sleep(POLL)
            continue
        line += chunk
        if len(line) > protocol.MAX_LINE:
            raise protocol.ProtocolError("control line too long")
    return protocol.read_go(protocol.decode(line.splitlines()[-1]))


def reseed(entropy: bytes) -> None:
    """Mixes the host's bytes into the kernel's pool and makes the CRNG use them now:
    every restore of one saved state would otherwise hand out the same random numbers."""
    with open("/dev/urandom", "wb", buffering=0) as pool:
        pool.write(entropy)
        fcntl.ioctl(pool, RNDRESEEDCRNG)


def set_clock(host_ns: int) -> None:
    time.clock_settime_ns(time.CLOCK_REALTIME, host_ns)
