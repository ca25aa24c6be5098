"""Network links inside a namespace; for now only bringing ``lo`` up in a new netns."""

from __future__ import annotations

import _socket
import fcntl
import struct

from cove.runtime.linux.syscalls import KernelError

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def set_link_up(name: str = "lo") -> None:
    """Set IFF_UP on a link with the classic ioctl (no netlink needed for this)."""
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)  # _socket: no enum import
    try:
        request = struct.pack("16sH22x", name.encode(), 0)
        reply = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request)
        flags = struct.unpack("16sH22x", reply)[1]
        if not flags & IFF_UP:
            fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS,
                        struct.pack("16sH22x", name.encode(), flags | IFF_UP))
    except OSError as exc:
        raise KernelError(exc.errno or 0, "set link up", name) from exc
    finally:
        sock.close()
