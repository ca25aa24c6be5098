"""Route tables, one module per API resource (as moby's routers)."""
