"""The Engine API versions this server speaks: the newest, and the oldest it still accepts."""

API_VERSION = "1.41"
MIN_API_VERSION = "1.12"
