"""What a user installs on any OS: the ``cove`` CLI and its API client. Never imports ``cove.runtime``."""

if __name__ != "cove.desktop":  # the folder is cove.desktop; a second name would make second copies of its modules
    raise ImportError(f"import cove.desktop, not {__name__}")
