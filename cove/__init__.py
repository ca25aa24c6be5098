"""Cove: Docker Desktop, rebuilt in Python.

``cove.runtime`` is the Linux engine and ``coved``; ``cove.desktop`` the CLI and
API client that run on any OS; ``cove.vm`` boots the Linux VM elsewhere.
"""

__version__ = "0.1.0"
