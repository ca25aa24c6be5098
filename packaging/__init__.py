"""Builds what Cove ships: the offline hello-world image, later the guest image and installers."""
