"""Helpers for the template's own test suite: combinations, toolchain, services, projects."""
