"""What a user installs on any OS: the ``cove`` CLI and its API client. Never imports ``cove.runtime``."""
