"""Boots and drives the Linux VM that runs ``coved`` on macOS and Windows (QEMU, QMP, SSH)."""

if __name__ != "cove.vm":  # the folder is cove.vm; a second name would make second copies of its modules
    raise ImportError(f"import cove.vm, not {__name__}")
