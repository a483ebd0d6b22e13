"""The project's Django apps, one per domain."""
