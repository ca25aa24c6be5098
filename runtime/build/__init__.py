"""Dockerfile builds: the parser, .dockerignore rules, variable expansion and the builder."""
