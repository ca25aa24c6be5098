"""The ``cove`` command line: Docker's commands, flags, output and exit codes."""
