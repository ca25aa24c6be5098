"""The agent inside Cove's Linux VM: supervises ``coved`` and bridges the host's SSH channels to it."""
