"""Shared building blocks: base models, middleware, health checks, API plumbing."""
