"""Settings split by environment: base, local, test and production."""
