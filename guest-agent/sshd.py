"""The SSH server: dropbear, keyed from the seed, public-key logins for root only.

root's ``~/.ssh`` in the read-only image is a link to ``SSH_DIR`` on /run, where the
authorized keys from the seed are written at boot.
"""

from __future__ import annotations

import os
import subprocess

from cove.guest_agent.seed import Seed, write_private

SSH_DIR = "/run/cove/ssh"
HOST_KEY = f"{SSH_DIR}/dropbear_ed25519_host_key"
PORT = 22


def install_keys(seed: Seed) -> None:
    """Writes authorized_keys and the host key converted to dropbear's own format."""
    os.makedirs(SSH_DIR, mode=0o700, exist_ok=True)
    write_private(f"{SSH_DIR}/authorized_keys", seed.files["authorized_keys"])
    openssh_key = f"{SSH_DIR}/ssh_host_ed25519_key"
    write_private(openssh_key, seed.files["ssh_host_ed25519_key"])
    subprocess.run(["dropbearconvert", "openssh", "dropbear", openssh_key, HOST_KEY],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    os.unlink(openssh_key)


def command() -> list[str]:
    """dropbear in the foreground, keys only (-s), logging to stderr (-E)."""
    return ["dropbear", "-F", "-E", "-s", "-p", str(PORT), "-r", HOST_KEY, "-P", "/run/dropbear.pid"]
