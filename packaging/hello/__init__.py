"""Builds the hello-world image without a network."""
