"""The Linux engine: images, containers, the daemon ``coved`` and its Docker Engine API."""

if __name__ != "cove.runtime":  # the folder is cove.runtime; a second name would make second copies of its modules
    raise ImportError(f"import cove.runtime, not {__name__}")
