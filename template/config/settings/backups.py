"""Backups: where `manage.py backup` writes by default and how many it keeps there."""

from pathlib import Path

from config.settings.environment import BASE_DIR, env

# Scheduled backups (the deploy files) write here; a persistent disk in production.
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(BASE_DIR / "backups")))
# A backup into BACKUP_DIR removes the older archives beyond this many.
BACKUP_KEEP = env.int("BACKUP_KEEP", default=7)
