"""Restore a backup archive written by `manage.py backup`, into an empty database."""

import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.backups import BackupError, services


class Command(BaseCommand):
    help = "Restore the database and media files of a backup archive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "archive",
            help="An archive written by `backup`: a file, or the name of one in "
            "BACKUP_STORAGE_URL.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Restore into a database that holds tables, replacing the backup's tables.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        archive = Path(options["archive"])
        offsite = services.offsite_storage()
        try:
            if archive.exists() or offsite is None:
                restored = services.restore_backup(archive, force=options["force"])
            else:
                with tempfile.TemporaryDirectory(prefix="restore-download-") as scratch:
                    local = services.fetch_offsite(options["archive"], offsite, Path(scratch))
                    restored = services.restore_backup(local, force=options["force"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Restored {options['archive']}: {restored.tables} tables, "
            f"{restored.media_files} media files"
        )
