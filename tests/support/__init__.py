"""Helpers shared by tests and benchmarks: test images, the reference dockerd."""
