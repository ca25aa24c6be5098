"""Distribution (registry v2) client: pull, push and login against Docker registries."""
