"""Containers: their records and state on disk, the supervisor (shim) that outlives the daemon, logs."""
