"""``cove-desktop``: the tray icon and dashboard over the engine and the Cove machine.

It reaches the engine only through ``cove.desktop.client`` (the CLI's API client and
contexts) and the machine only through ``cove.vm``, so the app and the CLI can never
disagree about what the engine is doing.
"""
