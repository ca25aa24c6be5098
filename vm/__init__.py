"""Boots and drives the Linux VM that runs ``coved`` on macOS and Windows (QEMU, QMP, SSH)."""
