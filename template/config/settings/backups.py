"""Backups: where `manage.py backup` writes by default, how many it keeps, and the off-site copy."""

from pathlib import Path
from typing import Any

from config.settings.environment import BASE_DIR, env
from config.settings.media import s3_storage

# Scheduled backups (the deploy files) write here; a persistent disk in production.
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(BASE_DIR / "backups")))
# A backup into BACKUP_DIR removes the older archives beyond this many.
BACKUP_KEEP = env.int("BACKUP_KEEP", default=7)
# s3://BUCKET[/PREFIX]: each scheduled archive is copied there too (an archive on
# the database's own host is lost with it), and pruned there to BACKUP_KEEP alike.
BACKUP_STORAGE_URL = env.str("BACKUP_STORAGE_URL", default="")
BACKUP_STORAGES: dict[str, dict[str, Any]] = (
    {"backups": s3_storage(BACKUP_STORAGE_URL, "BACKUP_STORAGE_URL")} if BACKUP_STORAGE_URL else {}
)
