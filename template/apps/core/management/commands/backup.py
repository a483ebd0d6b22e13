"""Back up the database and the filesystem's media files into one archive (apps/core/backups)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.backups import BackupError, services


class Command(BaseCommand):
    help = "Write a backup archive: the database's dump and the media files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            help="Archive file or directory to write it into (default: BACKUP_DIR, where "
            "the archives beyond the newest BACKUP_KEEP are removed, and a copy in "
            "BACKUP_STORAGE_URL when it is set).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        offsite = services.offsite_storage()
        try:
            if options["output"] is None:
                archive, removed = services.backup_into(
                    settings.BACKUP_DIR, keep=settings.BACKUP_KEEP
                )
            else:
                archive, removed = services.create_backup(options["output"]), []
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Backed up to {archive} ({archive.stat().st_size} bytes)")
        for old in removed:
            self.stdout.write(f"Removed {old}")
        if offsite is not None and options["output"] is None:
            name, removed_offsite = services.copy_offsite(
                archive, offsite, keep=settings.BACKUP_KEEP
            )
            self.stdout.write(f"Copied to {settings.BACKUP_STORAGE_URL} as {name}")
            for old_name in removed_offsite:
                self.stdout.write(f"Removed {old_name} from {settings.BACKUP_STORAGE_URL}")
