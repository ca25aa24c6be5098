"""Cove's version, written once: the package metadata, ``cove --version``, ``coved --version``,
the engine's ``/version`` and the client's User-Agent all read it from here."""

VERSION = "0.1.0"
