"""Helpers for tests: servers that misbehave on purpose."""
