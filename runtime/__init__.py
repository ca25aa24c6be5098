"""The Linux engine: images, containers, the daemon ``coved`` and its Docker Engine API."""
