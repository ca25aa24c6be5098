"""eth0 on QEMU's user-mode network: static by default, DHCP if the kernel command line asks.

QEMU's user network always hands out the same lease (10.0.2.15/24, gateway 10.0.2.2, DNS
10.0.2.3), so the static setup skips the DHCP round trip; ``cove.net=dhcp`` uses busybox's
udhcpc and the script installed with the image.
"""

from __future__ import annotations

import subprocess

ADDRESS = "10.0.2.15/24"
GATEWAY = "10.0.2.2"
DNS = "10.0.2.3"
RESOLV_CONF = "/run/cove/resolv.conf"  # /etc/resolv.conf links here
UDHCPC_SCRIPT = "/usr/lib/cove/udhcpc.script"


def bring_up(mode: str) -> str:
    """Brings up lo and eth0; returns what it set, for the console."""
    if mode not in ("static", "dhcp"):
        raise ValueError(f"cove.net={mode}: expected static or dhcp")
    commands = "link set lo up\nlink set eth0 up\n"
    if mode == "static":
        commands += f"addr add {ADDRESS} dev eth0\nroute add default via {GATEWAY}\n"
    subprocess.run(["ip", "-batch", "-"], input=commands.encode(), check=True)
    if mode == "static":
        with open(RESOLV_CONF, "w") as f:
            f.write(f"nameserver {DNS}\n")
        return f"eth0 {ADDRESS} via {GATEWAY} (static)"
    subprocess.run(["busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "5", "-T", "1",
                    "-s", UDHCPC_SCRIPT], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)
    return "eth0 (dhcp)"


def listening(port: int) -> bool:
    """True once a TCP socket listens on the port (read from /proc/net/tcp*, no connection
    made)."""
    wanted = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(wanted) and fields[3] == "0A":
                        return True
        except FileNotFoundError:
            continue
    return False
